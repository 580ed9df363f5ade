import t, { type Test } from 'tap'
import { MalformedBodyError, RelayError } from '../../src/errors.js'
import { DEAUTHORIZED_EVENT, readEventEnvelope } from '../../src/zoom/event-envelope.js'
import { randomBytes, randomInt, seededRandom } from '../helpers/random.js'

const read = (body: string | Buffer): ReturnType<typeof readEventEnvelope> => readEventEnvelope(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

/** Asserts that `body` is refused with a MalformedBodyError (400, ZR_BODY_MALFORMED) whose message matches. */
function refuses (t: Test, body: string | Buffer, message: RegExp, name: string): void {
  try {
    read(body)
    t.fail(`${name}: accepted`)
  } catch (err) {
    t.ok(err instanceof MalformedBodyError && err instanceof RelayError, `${name}: MalformedBodyError`)
    t.match(err, { code: 'ZR_BODY_MALFORMED', statusCode: 400, name: 'MalformedBodyError', message }, `${name}: code, status and message`)
  }
}

t.test('reads the event and payload.plainToken', async t => {
  t.strictSame(read('{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1700000000000,"event":"endpoint.url_validation"}'),
    { event: 'endpoint.url_validation', plainToken: 'qgg8vlvZRS6UYooatFL8Aw', facts: {} })
  t.strictSame(read('{"event":"meeting.created","payload":{"account_id":"a","object":{"id":1}}}'), { event: 'meeting.created', plainToken: undefined, facts: { mid: '1', acct: 'a' } })
  t.strictSame(read('{"event":"meeting.created"}'), { event: 'meeting.created', plainToken: undefined, facts: {} }, 'no payload')
  t.equal(read('{"event":"x","payload":null}').plainToken, undefined, 'payload null')
  t.equal(read('{"event":"x","payload":"tok"}').plainToken, undefined, 'payload a string')
  t.equal(read('{"event":"x","payload":[{"plainToken":"t"}]}').plainToken, undefined, 'payload an array')
  t.equal(read('{"event":"x","payload":{"plainToken":123}}').plainToken, undefined, 'numeric plainToken')
  t.equal(read('{"event":"x","payload":{"plainToken":""}}').plainToken, undefined, 'empty plainToken')
  t.equal(read('{"event":"x","plainToken":"t"}').plainToken, undefined, 'top-level plainToken is not read')
  t.equal(read('{"event":"x","payload":{"plainToken":"🎉 tok"}}').plainToken, '🎉 tok', 'non-ASCII plainToken')
  t.equal(read('{"event":"x","payload":{"plainToken":"\\u0074ok"}}').plainToken, 'tok', 'JSON escapes decoded')
})

t.test('app_deauthorized: account_id and user_id are read too', async t => {
  t.equal(DEAUTHORIZED_EVENT, 'app_deauthorized')
  const body = '{"event":"app_deauthorized","event_ts":1700000000000,"payload":{"account_id":"EabCDEFghiLHMA","user_id":"z9jkdsfsdfjhdkfjQ","signature":"827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000","deauthorization_time":"2019-06-17T13:52:28.632Z","client_id":"ADZ9k9bTWmGUoUbECUKU_a"}}'
  t.strictSame(read(body), { event: 'app_deauthorized', plainToken: undefined, facts: { acct: 'EabCDEFghiLHMA' }, deauthorized: { accountId: 'EabCDEFghiLHMA', userId: 'z9jkdsfsdfjhdkfjQ' } })
  t.strictSame(read('{"event":"app_deauthorized"}').deauthorized, { accountId: undefined, userId: undefined }, 'missing ids')
  t.strictSame(read('{"event":"app_deauthorized","payload":{"account_id":1,"user_id":""}}').deauthorized, { accountId: undefined, userId: undefined }, 'non-string and empty ids')
  t.notOk('deauthorized' in read('{"event":"meeting.created","payload":{"account_id":"a","user_id":"u"}}'), 'other events have no deauthorized field')
})

t.test('a UTF-8 byte order mark is skipped; other leading bytes are not', async t => {
  t.equal(read(Buffer.concat([BOM, Buffer.from('{"event":"meeting.created"}')])).event, 'meeting.created', 'BOM')
  t.equal(read(Buffer.concat([BOM, Buffer.from(' \r\n\t{"event":"e"}\n')])).event, 'e', 'BOM then whitespace')
  t.equal(read(' \r\n\t{"event":"e"} \n').event, 'e', 'surrounding JSON whitespace')
  t.equal(read(Buffer.concat([BOM, Buffer.from('{"event":"\ufeffx"}')])).event, '\ufeffx', 'a U+FEFF inside a string stays')
  refuses(t, Buffer.concat([BOM, BOM, Buffer.from('{"event":"e"}')]), /not valid JSON/, 'two BOMs')
  refuses(t, Buffer.concat([Buffer.from([0xef, 0xbb]), Buffer.from('{"event":"e"}')]), /not valid JSON/, 'a partial BOM')
  refuses(t, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"event":"e"}', 'utf16le')]), /not valid JSON/, 'UTF-16LE with its BOM')
  refuses(t, BOM, /not valid JSON/, 'a BOM alone')
})

t.test('invalid UTF-8 inside string values still parses (bytes become U+FFFD; the relayed body is untouched)', async t => {
  const body = Buffer.concat([Buffer.from('{"event":"meeting.created","payload":{"object":{"topic":"'), Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80, 0xc3]), Buffer.from('"},"plainToken":"tok"}}')])
  const copy = Buffer.from(body)
  t.strictSame(read(body), { event: 'meeting.created', plainToken: 'tok', facts: {} })
  t.ok(body.equals(copy), 'the input buffer is not modified')
  const inEvent = Buffer.concat([Buffer.from('{"event":"a'), Buffer.from([0xff]), Buffer.from('"}')])
  t.equal(read(inEvent).event, 'a\ufffd', 'an invalid byte in the event name is replaced, not dropped')
  t.equal(read('{"event":"\\ud800"}').event, '\ud800', 'an escaped lone surrogate is kept')
})

t.test('refuses what is not JSON', async t => {
  refuses(t, '', /not valid JSON/, 'empty body')
  refuses(t, '   \n', /not valid JSON/, 'whitespace only')
  refuses(t, '{"event":', /not valid JSON/, 'truncated')
  refuses(t, "{'event':'x'}", /not valid JSON/, 'single quotes')
  refuses(t, '{"event":"x",}', /not valid JSON/, 'trailing comma')
  refuses(t, 'event=meeting.created', /not valid JSON/, 'form-encoded')
  refuses(t, '{"event":"x"}{"event":"y"}', /not valid JSON/, 'two documents')
  refuses(t, '{"event":"x"}\u0000', /not valid JSON/, 'trailing NUL')
  refuses(t, Buffer.from([0x1f, 0x8b, 0x08, 0x00]), /not valid JSON/, 'gzip magic')
})

t.test('refuses JSON that is not an object', async t => {
  for (const [name, body] of [['array', '[{"event":"x"}]'], ['empty array', '[]'], ['string', '"meeting.created"'], ['number', '42'], ['null', 'null'], ['true', 'true']] as const) {
    refuses(t, body, /must be a JSON object/, name)
  }
})

t.test('refuses a missing, empty, non-string or too long event', async t => {
  const bad = /"event" string of 1 to 128 characters/
  refuses(t, '{}', bad, 'empty object')
  refuses(t, '{"payload":{"plainToken":"t"}}', bad, 'no event')
  refuses(t, '{"event":""}', bad, 'empty event')
  refuses(t, '{"event":null}', bad, 'null event')
  refuses(t, '{"event":42}', bad, 'numeric event')
  refuses(t, '{"event":["meeting.created"]}', bad, 'array event')
  refuses(t, '{"event":{"name":"meeting.created"}}', bad, 'object event')
  refuses(t, '{"event":true}', bad, 'boolean event')
  refuses(t, '{"Event":"meeting.created"}', bad, 'keys are case-sensitive')
  refuses(t, `{"event":"${'e'.repeat(129)}"}`, bad, '129 characters')
  t.equal(read(`{"event":"${'e'.repeat(128)}"}`).event.length, 128, '128 characters is accepted')
  t.equal(read('{"event":"x"}').event, 'x', '1 character is accepted')
  t.equal(read('{"event":" "}').event, ' ', 'not trimmed')
})

t.test('the history index facts: payload.object.id (as a string) and .uuid, payload.account_id; absent when missing', async t => {
  t.strictSame(read('{"event":"meeting.ended","payload":{"account_id":"acc","object":{"id":85746065432,"uuid":"4444AAAiAAAAAiAiAiiAii=="}}}').facts, { mid: '85746065432', uuid: '4444AAAiAAAAAiAiAiiAii==', acct: 'acc' })
  t.strictSame(read('{"event":"user.updated","payload":{"object":{"id":"KDcuGIm1QgePTO8WbOqwIQ"}}}').facts, { mid: 'KDcuGIm1QgePTO8WbOqwIQ' }, 'a string id as sent')
  t.strictSame(read('{"event":"x","payload":{"object":{"id":true,"uuid":7},"account_id":""}}').facts, {}, 'other types and empty strings are left out')
  t.strictSame(read('{"event":"x","payload":{"object":null}}').facts, {}, 'object null')
  t.strictSame(read('{"event":"x","payload":{"object":{"uuid":"ü/+=="}}}').facts, { uuid: 'ü/+==' }, 'non-ASCII read as UTF-8')
})

/** The plain reading: decode as UTF-8, parse once. readEventEnvelope must always agree with it. */
function referenceReading (body: Buffer): unknown {
  try {
    const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0
    const parsed = JSON.parse(body.toString('utf8', start)) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not an object'
    const { event, payload } = parsed as { event?: unknown, payload?: { plainToken?: unknown, account_id?: unknown, user_id?: unknown, object?: { id?: unknown, uuid?: unknown } | null } | null }
    if (typeof event !== 'string' || event.length === 0 || event.length > 128) return 'no event'
    const text = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined
    const p = typeof payload === 'object' && payload !== null ? payload : {}
    const o = typeof p.object === 'object' && p.object !== null ? p.object : {}
    const facts = Object.fromEntries(Object.entries({ mid: typeof o.id === 'number' ? String(o.id) : text(o.id), uuid: text(o.uuid), acct: text(p.account_id) }).filter(([, v]) => v !== undefined))
    return { event, plainToken: text(p.plainToken), facts, ...(event === 'app_deauthorized' ? { deauthorized: { accountId: text(p.account_id), userId: text(p.user_id) } } : {}) }
  } catch {
    return 'not JSON'
  }
}

function ourReading (body: Buffer): unknown {
  try {
    return readEventEnvelope(body)
  } catch (err) {
    const message = (err as Error).message
    return /not valid JSON/.test(message) ? 'not JSON' : /JSON object/.test(message) ? 'not an object' : 'no event'
  }
}

t.test('read as Latin-1 first, the fields are always those of a UTF-8 reading', async t => {
  const cases: Array<[string, Buffer]> = [
    ['emoji in the topic', Buffer.from('{"event":"meeting.created","payload":{"object":{"topic":"🗓️ sync"}}}')],
    ['non-ASCII event name', Buffer.from('{"event":"méeting.created"}')],
    ['non-ASCII plainToken', Buffer.from('{"event":"endpoint.url_validation","payload":{"plainToken":"tök€n"}}')],
    ['escaped non-ASCII plainToken', Buffer.from('{"event":"endpoint.url_validation","payload":{"plainToken":"t\\u00f6k"}}')],
    ['non-ASCII deauthorization ids', Buffer.from('{"event":"app_deauthorized","payload":{"account_id":"äcc","user_id":"ü"}}')],
    ['non-ASCII meeting id and uuid', Buffer.from('{"event":"meeting.created","payload":{"object":{"id":"mé","uuid":"ü=="}}}')],
    ['invalid UTF-8 in a string', Buffer.concat([Buffer.from('{"event":"e","x":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')])],
    ['invalid UTF-8 right before a quote', Buffer.concat([Buffer.from('{"event":"e'), Buffer.from([0xc3]), Buffer.from('"}')])],
    ['invalid UTF-8 in the event name', Buffer.concat([Buffer.from('{"event":"e'), Buffer.from([0xfe]), Buffer.from('x"}')])],
    ['invalid UTF-8 outside a string', Buffer.concat([Buffer.from('{"event":"e"'), Buffer.from([0xc2, 0xa0]), Buffer.from('}')])],
    ['two keys equal only once decoded as UTF-8', Buffer.concat([Buffer.from('{"event":"a","'), Buffer.from([0xff]), Buffer.from('":1,"'), Buffer.from([0xfe]), Buffer.from('":2}')])],
    ['128 non-ASCII characters (256 bytes) in the event name', Buffer.from(`{"event":"${'é'.repeat(128)}"}`)],
    ['129 non-ASCII characters in the event name', Buffer.from(`{"event":"${'é'.repeat(129)}"}`)],
    ['BOM and non-ASCII', Buffer.concat([BOM, Buffer.from('{"event":"ü"}')])]
  ]
  for (const [name, body] of cases) t.same(ourReading(body), referenceReading(body), name)
  t.equal(read('{"event":"méeting.created"}').event, 'méeting.created', 'the UTF-8 name, not its Latin-1 reading')
  t.equal(read('{"event":"endpoint.url_validation","payload":{"plainToken":"tök€n"}}').plainToken, 'tök€n')
})

t.test('the two readings agree on 5,000 seeded bodies of random bytes around JSON', async t => {
  const random = seededRandom(20261125)
  const pieces = ['{', '}', '"event"', ':', '"e', '"app_deauthorized"', '"payload"', '{"plainToken":"', '"account_id"', '{"object":{"id":', '"uuid"', ',', '"', '\\u00e9', '\\"', 'é', '🎉', ' ', '[', ']', '1']
  let disagreements = 0
  for (let i = 0; i < 5000; i++) {
    const parts: Buffer[] = [Buffer.from(i % 3 === 0 ? '{"event":"' : '{')]
    const n = randomInt(random, 12)
    for (let j = 0; j < n; j++) {
      parts.push(random() < 0.2 ? randomBytes(random, 1 + randomInt(random, 3)) : Buffer.from(pieces[randomInt(random, pieces.length)] as string))
    }
    if (i % 2 === 0) parts.push(Buffer.from('"}'))
    const body = Buffer.concat(parts)
    if (JSON.stringify(ourReading(body)) !== JSON.stringify(referenceReading(body))) disagreements++
  }
  t.equal(disagreements, 0)
})
