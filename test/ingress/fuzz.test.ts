import { connect } from 'node:net'
import t from 'tap'
import { Pool } from 'undici'
import { openStream } from '../helpers/queue.js'
import { pick, randomBytes, randomInt, seededRandom } from '../helpers/random.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { residentBytes, startRelayProcess } from '../helpers/relay-process.js'
import { SECRET } from '../helpers/relay.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20261124)
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000)
const ABORTED_CHUNKED = 100
const BODY_LIMIT = 64 * 1024

interface Case {
  kind: string
  body: Buffer
  headers: Record<string, string | string[]>
  /** What the relay must answer; `stored` when the event must be enqueued (it is verified). */
  expect: number
  stored: boolean
}

/** Builds the n-th hostile request; every expectation follows from how it was made, never from the code under test. */
function makeCase (random: () => number, n: number): Case {
  const valid = Buffer.from(meetingCreated(n, { fuzz: randomInt(random, 1e9) }))
  const now = Math.floor(Date.now() / 1000)
  const signed = (body: Buffer, ts = now): Record<string, string> => zoomHeaders(SECRET, body, ts)
  const kind = pick(random, [
    'valid', 'random-bytes', 'mutated-body', 'truncated-signature', 'wrong-signature', 'no-signature', 'no-timestamp',
    'duplicated-signature', 'oversized-header', 'far-past', 'far-future', 'non-json', 'deeply-nested', 'huge-number',
    'wrong-content-type', 'too-large', 'not-an-object', 'no-event', 'garbage-signature-chars', 'empty-body'
  ] as const)
  switch (kind) {
    case 'valid': return { kind, body: valid, headers: signed(valid), expect: 200, stored: true }
    case 'random-bytes': {
      // 0xff can never start JSON, so this can never be a valid event.
      const body = Buffer.concat([Buffer.from([0xff]), randomBytes(random, randomInt(random, 2000))])
      return { kind, body, headers: signed(body), expect: 400, stored: false }
    }
    case 'mutated-body': {
      const body = Buffer.from(valid)
      const at = randomInt(random, body.length)
      body[at] = (body[at] as number) ^ (1 + randomInt(random, 255))
      return { kind, body, headers: signed(valid), expect: 401, stored: false }
    }
    case 'truncated-signature': {
      const headers = signed(valid)
      headers['x-zm-signature'] = (headers['x-zm-signature'] ?? '').slice(0, 3 + randomInt(random, 64))
      return { kind, body: valid, headers, expect: 401, stored: false }
    }
    case 'wrong-signature': return { kind, body: valid, headers: { ...signed(valid), 'x-zm-signature': `v0=${randomBytes(random, 32).toString('hex')}` }, expect: 401, stored: false }
    case 'no-signature': {
      const { 'x-zm-signature': _, ...headers } = signed(valid)
      return { kind, body: valid, headers, expect: 401, stored: false }
    }
    case 'no-timestamp': {
      const { 'x-zm-request-timestamp': _, ...headers } = signed(valid)
      return { kind, body: valid, headers, expect: 401, stored: false }
    }
    case 'duplicated-signature': {
      const headers: Record<string, string | string[]> = signed(valid)
      headers['x-zm-signature'] = [headers['x-zm-signature'] as string, headers['x-zm-signature'] as string]
      return { kind, body: valid, headers, expect: 401, stored: false }
    }
    case 'oversized-header': return { kind, body: valid, headers: { ...signed(valid), 'x-padding': 'x'.repeat(20_000 + randomInt(random, 50_000)) }, expect: 431, stored: false }
    case 'far-past': return { kind, body: valid, headers: signed(valid, randomInt(random, now - 301)), expect: 401, stored: false }
    case 'far-future': return { kind, body: valid, headers: signed(valid, now + 301 + randomInt(random, 1e9)), expect: 401, stored: false }
    case 'non-json': {
      const body = Buffer.from(pick(random, ['event=meeting.created', '<xml/>', '{"event":', 'nul', '{event: "x"}', '\u0000\u0001']))
      return { kind, body, headers: signed(body), expect: 400, stored: false }
    }
    case 'deeply-nested': {
      // Up to ~60 KiB of brackets: under BODY_LIMIT, so it is parsing, not size, that is tested.
      const depth = 1000 + randomInt(random, 29_000)
      const body = Buffer.from(`{"event":"meeting.updated","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`)
      // V8 parses tens of thousands of levels; too deep is a RangeError. Either way: a verified body is
      // accepted only when it parses, and never crashes anything. Small enough depths always parse.
      return depth <= 5000 ? { kind, body, headers: signed(body), expect: 200, stored: true } : { kind: 'deeply-nested-any', body, headers: signed(body), expect: -1, stored: false }
    }
    case 'huge-number': {
      const body = Buffer.from(`{"event":"meeting.updated","payload":{"n":1e${100_000 + randomInt(random, 1e6)},"m":-${'9'.repeat(1000 + randomInt(random, 5000))},"i":${n}}}`)
      return { kind, body, headers: signed(body), expect: 200, stored: true }
    }
    case 'wrong-content-type': return { kind, body: valid, headers: { ...signed(valid), 'content-type': pick(random, ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) }, expect: 415, stored: false }
    case 'too-large': {
      const body = Buffer.from(`{"event":"meeting.updated","payload":"${'x'.repeat(BODY_LIMIT + randomInt(random, BODY_LIMIT))}"}`)
      return { kind, body, headers: signed(body), expect: 413, stored: false }
    }
    case 'not-an-object': {
      const body = Buffer.from(pick(random, ['[]', '"meeting.created"', '42', 'null', 'true', '[{"event":"meeting.created"}]']))
      return { kind, body, headers: signed(body), expect: 400, stored: false }
    }
    case 'no-event': {
      const body = Buffer.from(JSON.stringify(pick(random, [{}, { event: '' }, { event: 42 }, { event: null }, { payload: { event: 'x' } }, { event: 'e'.repeat(200) }])))
      return { kind, body, headers: signed(body), expect: 400, stored: false }
    }
    case 'garbage-signature-chars': return { kind, body: valid, headers: { ...signed(valid), 'x-zm-signature': `v0=${'g'.repeat(64)}` }, expect: 401, stored: false }
    case 'empty-body': return { kind, body: Buffer.alloc(0), headers: signed(Buffer.alloc(0)), expect: 400, stored: false }
  }
}

t.test(`fuzz: ${REQUESTS} hostile requests (seed ${SEED}) get the right 4xx, nothing unverified is stored, the process survives in bounded memory`, async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const web = await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { BODY_LIMIT_BYTES: String(BODY_LIMIT), DEDUP_WINDOW_SECONDS: '0' } })
  const stream = openStream(redis.url)
  const pool = new Pool(web.url, { connections: 16, pipelining: 1 })
  t.teardown(async () => { await pool.close(); await stream.close(); await web.stop() })
  t.comment(`reproduce with FUZZ_SEED=${SEED} FUZZ_REQUESTS=${REQUESTS}`)

  const random = seededRandom(SEED)
  const cases = Array.from({ length: REQUESTS }, (_, n) => makeCase(random, n))
  const wrong: string[] = []
  const byKind = new Map<string, number>()
  let stored = 0
  let next = 0
  let rssAfterWarmUp = 0
  const send = async (c: Case): Promise<void> => {
    let status = 0
    // A connection the server closed after refusing an earlier request (413, 431) can fail the next
    // request on it before it is sent; a client re-sends then, as Zoom would.
    for (let attempt = 0; attempt < 3 && status === 0; attempt++) {
      try {
        const res = await pool.request({ method: 'POST', path: '/zoom/webhook', headers: { 'content-type': 'application/json; charset=utf-8', ...c.headers }, body: c.body })
        status = res.statusCode
        const text = await res.body.text()
        if (status >= 400 && /"error":"ZR_INTERNAL"|\bat .*:\d+:\d+/.test(text)) wrong.push(`${c.kind}: internal error or stack trace: ${text.slice(0, 200)}`)
      } catch (err) {
        // 431 and 413 may end the connection before the body is read: a refusal too.
        if (c.expect === 431 || c.expect === 413) status = c.expect
        else if (attempt === 2) wrong.push(`${c.kind}: request failed: ${(err as Error).message}`)
      }
    }
    byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1)
    if (c.expect === -1) {
      if (status !== 200 && status !== 400) wrong.push(`${c.kind}: ${status}`)
      if (status === 200) stored++
    } else if (status !== c.expect) {
      wrong.push(`${c.kind}: expected ${c.expect}, got ${status}`)
    } else if (c.stored) {
      stored++
    }
  }
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < cases.length) {
      const c = cases[next++] as Case
      await send(c)
      if (next === 1000 && rssAfterWarmUp === 0) rssAfterWarmUp = await residentBytes(web.metricsUrl)
    }
  }))

  // Chunked bodies that stop half way: the client goes away mid-request.
  const { port } = new URL(web.url)
  for (let i = 0; i < ABORTED_CHUNKED; i++) {
    const body = meetingCreated(1_000_000 + i)
    const headers = zoomHeaders(SECRET, body)
    const socket = connect(Number(port), '127.0.0.1')
    socket.on('error', () => {})
    await new Promise(resolve => socket.once('connect', resolve))
    socket.write(`POST /zoom/webhook HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${(body.length).toString(16)}\r\n${body.slice(0, randomInt(random, body.length))}`)
    socket.destroy()
  }

  t.same(wrong.slice(0, 20), [], `every answer as expected (${wrong.length} wrong)`)
  t.comment(`cases: ${[...byKind].sort().map(([k, v]) => `${k}=${v}`).join(' ')}`)
  t.equal(await stream.count(), stored, `exactly the ${stored} verified events were stored, nothing else`)
  t.equal(web.child.exitCode, null, 'the web process is still running')
  t.equal((await fetch(`${web.url}/healthz`)).status, 200)
  const rssAtEnd = await residentBytes(web.metricsUrl)
  t.comment(`web RSS after 1000 requests ${(rssAfterWarmUp / 2 ** 20).toFixed(0)} MiB, at the end ${(rssAtEnd / 2 ** 20).toFixed(0)} MiB`)
  t.ok(rssAtEnd < rssAfterWarmUp + 128 * 2 ** 20, 'memory stayed bounded (less than 128 MiB of growth after warm-up)')
})
