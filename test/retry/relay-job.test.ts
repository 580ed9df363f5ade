import { createHash } from 'node:crypto'
import t from 'tap'
import { decodeBody, encodeBody, type RelayJobData } from '../../src/retry/relay-job.js'
import { pick, randomBytes, randomInt, seededRandom } from '../helpers/random.js'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const bytes = (...b: number[]): Buffer => Buffer.from(b)

/** What a worker gets back: through JSON, as BullMQ stores job data. */
function roundTrip (body: Buffer): { encoded: Pick<RelayJobData, 'body' | 'encoding'>, decoded: Buffer } {
  const encoded = encodeBody(body)
  const stored = JSON.parse(JSON.stringify(encoded)) as Pick<RelayJobData, 'body' | 'encoding'>
  return { encoded, decoded: decodeBody(stored) }
}

const VALID: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['ASCII JSON', Buffer.from('{"event":"meeting.created","payload":{"object":{"id":1}}}')],
  ['emoji (4-byte) and ZWJ sequence', Buffer.from('{"topic":"🎉 👩🏽‍💻"}', 'utf8')],
  ['CJK and accents', Buffer.from('会议 Réunion Ñandú', 'utf8')],
  ['NUL bytes', bytes(0x7b, 0x00, 0x22, 0x00, 0x7d)],
  ['UTF-8 BOM', bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d)],
  ['a literal U+FFFD', bytes(0xef, 0xbf, 0xbd)],
  ['U+10FFFF, the last code point', bytes(0xf4, 0x8f, 0xbf, 0xbf)],
  ['U+D7FF and U+E000 around the surrogates', bytes(0xed, 0x9f, 0xbf, 0xee, 0x80, 0x80)],
  ['control characters and CRLF', Buffer.from('\r\n\t\u0001\u001f\u007f', 'utf8')]
]

const INVALID: Array<[string, Buffer]> = [
  ['lone high surrogate as bytes (ED A0 80)', bytes(0x7b, 0xed, 0xa0, 0x80, 0x7d)],
  ['lone low surrogate as bytes (ED B0 80)', bytes(0xed, 0xb0, 0x80)],
  ['CESU-8 surrogate pair', bytes(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80)],
  ['0xff', bytes(0xff)],
  ['0xff 0xfe (UTF-16 BOM)', bytes(0xff, 0xfe, 0x7b, 0x00)],
  ['overlong NUL (C0 80)', bytes(0xc0, 0x80)],
  ['beyond U+10FFFF (F4 90 80 80)', bytes(0xf4, 0x90, 0x80, 0x80)],
  ['truncated emoji at the end', Buffer.concat([Buffer.from('{"t":"'), bytes(0xf0, 0x9f, 0x98)])],
  ['lone continuation byte', bytes(0x41, 0x80, 0x42)],
  ['Latin-1 é', bytes(0x52, 0xe9, 0x75)],
  ['valid JSON with one bad byte and NULs', Buffer.concat([Buffer.from('{"a":"\u0000'), bytes(0xfe), Buffer.from('"}')])]
]

t.test('valid UTF-8 is stored as the string itself', async t => {
  for (const [name, body] of VALID) {
    const { encoded, decoded } = roundTrip(body)
    t.equal(encoded.encoding, 'utf8', `${name}: utf8`)
    t.equal(encoded.body, body.toString('utf8'), `${name}: the text`)
    t.equal(sha256(decoded), sha256(body), `${name}: same bytes back`)
  }
  t.strictSame(encodeBody(Buffer.from('{"event":"x"}')), { body: '{"event":"x"}', encoding: 'utf8' }, 'exactly two fields')
  t.equal(encodeBody(bytes(0xef, 0xbb, 0xbf, 0x41)).body, '\ufeffA', 'the BOM is kept, not stripped')
})

t.test('anything else is stored as base64', async t => {
  for (const [name, body] of INVALID) {
    const { encoded, decoded } = roundTrip(body)
    t.equal(encoded.encoding, 'base64', `${name}: base64`)
    t.equal(encoded.body, body.toString('base64'), `${name}: standard base64`)
    t.equal(encoded.body.length, Math.ceil(body.length / 3) * 4, `${name}: ~4/3 of the size, not a JSON byte array`)
    t.equal(sha256(decoded), sha256(body), `${name}: same bytes back`)
  }
  t.strictSame(encodeBody(bytes(0xff, 0xfe)), { body: '//4=', encoding: 'base64' })
})

t.test('decodeBody decodes each encoding as labelled', async t => {
  t.strictSame([...decodeBody({ body: 'é', encoding: 'utf8' })], [0xc3, 0xa9])
  t.strictSame([...decodeBody({ body: '//4=', encoding: 'base64' })], [0xff, 0xfe])
  t.strictSame([...decodeBody({ body: '', encoding: 'base64' })], [])
  t.equal(decodeBody({ body: 'QUJD', encoding: 'utf8' }).toString('latin1'), 'QUJD', 'the label, not the look of the text, decides')
})

t.test('random buffers round-trip exactly through JSON (seeded)', async t => {
  const random = seededRandom(0x5eed)
  const specials = [bytes(0xed, 0xa0, 0x80), bytes(0xff), bytes(0x00), Buffer.from('🎉'), bytes(0xef, 0xbb, 0xbf), bytes(0xf0, 0x9f), Buffer.from('"\\\u2028\u2029')]
  const codePoints = [0x41, 0x22, 0x5c, 0x00, 0x7f, 0xe9, 0x7ff, 0x800, 0x2028, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f389, 0x10ffff]
  let utf8 = 0
  let base64 = 0
  let mismatches = 0
  for (let i = 0; i < 3000; i++) {
    const parts: Buffer[] = []
    const n = randomInt(random, 8)
    for (let p = 0; p < n; p++) {
      switch (randomInt(random, 3)) {
        case 0: parts.push(randomBytes(random, randomInt(random, 64))); break
        case 1: parts.push(pick(random, specials)); break
        default: parts.push(Buffer.from(Array.from({ length: randomInt(random, 32) }, () => String.fromCodePoint(pick(random, codePoints))).join(''), 'utf8'))
      }
    }
    const body = Buffer.concat(parts)
    const { encoded, decoded } = roundTrip(body)
    if (encoded.encoding === 'utf8') utf8++
    else base64++
    if (sha256(decoded) !== sha256(body)) mismatches++
  }
  t.equal(mismatches, 0, 'every buffer came back byte for byte')
  t.ok(utf8 > 300 && base64 > 300, `both encodings exercised (utf8 ${utf8}, base64 ${base64})`)

  const big = randomBytes(random, 1_048_576)
  t.equal(sha256(roundTrip(big).decoded), sha256(big), '1 MiB of random bytes')
  const bigText = Buffer.from('🎉é\u0000a'.repeat(100_000), 'utf8')
  const text = roundTrip(bigText)
  t.equal(text.encoded.encoding, 'utf8')
  t.equal(sha256(text.decoded), sha256(bigText), '1 MB of text')
})
