import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { meetingCreatedBody } from '../../bench/bodies.js'
import { decodeRecords, requestRecord, writeRequestFiles } from '../../bench/wrk-requests.js'
import { WebhookAuthError } from '../../src/errors.js'
import { verifyZoomSignature } from '../../src/zoom/signature.js'

const SECRET = 'bench-secret-token'
const NOW = 1_796_000_000

t.test('bodies are realistic meeting.created JSON of 1,000–1,100 bytes, unique per n', async t => {
  const seen = new Set<string>()
  for (const n of [0, 1, 9, 96, 97, 12_345, 999_999, 10_000_000, 99_999_999, 999_999_999]) {
    const body = meetingCreatedBody(n)
    const bytes = Buffer.byteLength(body)
    t.ok(bytes >= 1000 && bytes <= 1100, `n=${n}: ${bytes} bytes`)
    const parsed = JSON.parse(body) as { event: string, payload: { object: { id: number, topic: string, settings: object } } }
    t.equal(parsed.event, 'meeting.created')
    t.equal(parsed.payload.object.id, 85_000_000_000 + n)
    t.match(parsed.payload.object.topic, /🗓️$/, 'a non-ASCII topic, as real ones often have')
    seen.add(body)
  }
  t.equal(seen.size, 10, 'no two alike')
})

t.test('padTo grows a body to exactly that many bytes, still valid JSON', async t => {
  const body = meetingCreatedBody(42, 64 * 1024)
  t.equal(Buffer.byteLength(body), 64 * 1024)
  t.equal((JSON.parse(body) as { event: string }).event, 'meeting.created')
})

t.test('a record carries its length, Zoom headers signed at the given time, and the exact body', async t => {
  const record = requestRecord(SECRET, 7, NOW)
  const [decoded] = decodeRecords(Buffer.from(record))
  t.ok(decoded)
  if (decoded === undefined) return
  t.equal(decoded.body.toString(), meetingCreatedBody(7))
  t.equal(decoded.headers['content-length'], String(decoded.body.length))
  t.equal(decoded.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(decoded.headers['x-zm-request-timestamp'], String(NOW))
  t.equal(verifyZoomSignature(decoded.headers['x-zm-signature'], decoded.headers['x-zm-request-timestamp'], decoded.body,
    { secretTokens: [SECRET], toleranceSeconds: 300, nowSeconds: NOW + 299 }), 0, 'valid for the relay inside the tolerance window')
  t.throws(() => verifyZoomSignature(decoded.headers['x-zm-signature'], decoded.headers['x-zm-request-timestamp'], decoded.body,
    { secretTokens: ['another-secret'] }), WebhookAuthError, 'made with the given secret')
})

t.test('request files deal unique, validly signed requests round-robin over the threads', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'zr-bench-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const prefix = join(dir, 'req')
  t.same(writeRequestFiles(prefix, 2, { secret: SECRET, first: 1000, count: 25, nowSeconds: NOW }), [13, 12])
  const records = [0, 1].flatMap(i => decodeRecords(readFileSync(`${prefix}.${i}`)))
  t.equal(records.length, 25)
  t.equal(new Set(records.map(r => r.body.toString())).size, 25, 'every body once')
  for (const r of records) {
    const bytes = r.body.length
    if (bytes < 1000 || bytes > 1100) t.fail(`body of ${bytes} bytes`)
    verifyZoomSignature(r.headers['x-zm-signature'], r.headers['x-zm-request-timestamp'], r.body, { secretTokens: [SECRET], toleranceSeconds: 300, nowSeconds: NOW })
  }
  t.pass('all 25 verify')
  const big = join(dir, 'big')
  writeRequestFiles(big, 2, { secret: SECRET, first: 0, count: 2, nowSeconds: NOW, padTo: 65_536 })
  t.same(decodeRecords(readFileSync(`${big}.0`)).map(r => r.body.length), [65_536])
})
