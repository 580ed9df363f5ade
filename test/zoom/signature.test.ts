import t from 'tap'
import { RelayError, WebhookAuthError, type AuthFailureReason } from '../../src/errors.js'
import { signatureDigest, verifyZoomSignature, zoomSignature, type VerifyOptions } from '../../src/zoom/signature.js'
import { opensslZoomSignature } from '../helpers/openssl.js'

const SECRET = 'Zx9-secret-token_ABC'
const TS = '1700000000'
const NOW = 1_700_000_000
const BODY = Buffer.from('{"event":"meeting.created","event_ts":1700000000123,"payload":{"account_id":"abc","object":{"id":85012345678}}}')

const BODIES: Array<[string, Buffer]> = [
  ['ASCII JSON', BODY],
  ['emoji, CJK and accents', Buffer.from('{"event":"meeting.created","payload":{"object":{"topic":"🎉 会议 Réunion 👩🏽‍💻"}}}', 'utf8')],
  ['invalid UTF-8 (0xff 0xfe, truncated and lone-surrogate sequences)', Buffer.concat([Buffer.from('{"event":"x","t":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f]), Buffer.from('"}')])],
  ['empty body', Buffer.alloc(0)],
  ['a single space', Buffer.from(' ')],
  ['NUL bytes', Buffer.from([0x7b, 0x00, 0x00, 0x7d])],
  ['CRLF, tabs, trailing newline, form feed and NBSP', Buffer.from('{\r\n\t"event" :\f"meeting.started"\u00a0\r\n}\r\n\n', 'utf8')],
  ['UTF-8 BOM before the JSON', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), BODY])]
]

/** Runs `verifyZoomSignature` and returns the reason it threw with, or the matched index. */
function outcome (signature: string | undefined, timestamp: string | undefined, body: Buffer, opts: VerifyOptions): number | AuthFailureReason {
  try {
    return verifyZoomSignature(signature, timestamp, body, opts)
  } catch (err) {
    if (err instanceof WebhookAuthError) return err.reason
    throw err
  }
}

const opts = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({ secretTokens: [SECRET], toleranceSeconds: 300, nowSeconds: NOW, ...extra })
const GOOD = opensslZoomSignature(SECRET, TS, BODY)

t.test('signatures equal openssl\'s HMAC-SHA256 over "v0:<ts>:<raw bytes>"', async t => {
  for (const [name, body] of BODIES) {
    const expected = opensslZoomSignature(SECRET, TS, body)
    t.match(expected, /^v0=[0-9a-f]{64}$/, `${name}: openssl gives lowercase hex`)
    t.equal(zoomSignature(SECRET, TS, body), expected, `${name}: zoomSignature`)
    t.equal(`v0=${signatureDigest(SECRET, TS, body).toString('hex')}`, expected, `${name}: signatureDigest`)
    t.equal(verifyZoomSignature(expected, TS, body, opts()), 0, `${name}: verifies`)
  }
  // Non-ASCII secret and other timestamps, still independent of the code under test.
  const secret = 'sécret-🔑'
  for (const ts of ['0', '1', '1732460000', '999999999999']) {
    t.equal(zoomSignature(secret, ts, BODY), opensslZoomSignature(secret, ts, BODY), `timestamp ${ts}, non-ASCII secret`)
  }
})

t.test('the body is signed as bytes: re-serialising or re-decoding it breaks the signature', async t => {
  const invalid = BODIES[2]?.[1] ?? Buffer.alloc(0)
  const sig = opensslZoomSignature(SECRET, TS, invalid)
  t.equal(outcome(sig, TS, Buffer.from(invalid.toString('utf8'), 'utf8'), opts()), 'signature_mismatch', 'U+FFFD replacement changes the bytes')
  const emoji = BODIES[1]?.[1] ?? Buffer.alloc(0)
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(emoji.toString('utf8'))).replace(/[^\x00-\x7f]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
  t.equal(outcome(opensslZoomSignature(SECRET, TS, emoji), TS, reserialised, opts()), 'signature_mismatch', 'escaped re-serialisation does not verify')
})

t.test('a body, timestamp or secret differing by one byte fails', async t => {
  for (let i = 0; i < BODY.length; i += 7) {
    const changed = Buffer.from(BODY)
    changed[i] = (changed[i] as number) ^ 0x01
    t.equal(outcome(GOOD, TS, changed, opts()), 'signature_mismatch', `bit flipped at byte ${i}`)
  }
  t.equal(outcome(GOOD, TS, Buffer.concat([BODY, Buffer.from('\n')]), opts()), 'signature_mismatch', 'trailing newline appended')
  t.equal(outcome(GOOD, TS, BODY.subarray(0, -1), opts()), 'signature_mismatch', 'last byte dropped')
  t.equal(outcome(GOOD, '1700000001', BODY, opts()), 'signature_mismatch', 'other timestamp')
  t.equal(outcome(GOOD, TS, BODY, opts({ secretTokens: [`${SECRET}x`] })), 'signature_mismatch', 'other secret')
  t.equal(outcome(GOOD, TS, BODY, opts({ secretTokens: [SECRET.toLowerCase()] })), 'signature_mismatch', 'secret is case-sensitive')
  const lastHex = GOOD.at(-1) === '0' ? '1' : '0'
  t.equal(outcome(`${GOOD.slice(0, -1)}${lastHex}`, TS, BODY, opts()), 'signature_mismatch', 'last hex digit changed')
})

t.test('errors carry class, code, reason, message and status 401', async t => {
  const cases: Array<[string, string | undefined, string | undefined, AuthFailureReason]> = [
    ['no signature', undefined, TS, 'signature_missing'],
    ['empty signature', '', TS, 'signature_missing'],
    ['no timestamp', GOOD, undefined, 'timestamp_missing'],
    ['empty timestamp', GOOD, '', 'timestamp_missing']
  ]
  for (const [name, sig, ts, reason] of cases) {
    t.throws(() => verifyZoomSignature(sig, ts, BODY, opts()), { name: 'WebhookAuthError', reason, code: `ZR_${reason.toUpperCase()}`, statusCode: 401 }, name)
  }
  try {
    verifyZoomSignature(undefined, TS, BODY, opts())
    t.fail('did not throw')
  } catch (err) {
    t.ok(err instanceof WebhookAuthError, 'a WebhookAuthError')
    t.ok(err instanceof RelayError, 'which is a RelayError')
    t.equal((err as WebhookAuthError).code, 'ZR_SIGNATURE_MISSING')
    t.match((err as Error).message, /x-zm-signature/)
  }
  t.throws(() => verifyZoomSignature('v0=zz', TS, BODY, opts()), { code: 'ZR_SIGNATURE_MALFORMED', message: /v0=<64 lowercase hex digits>/ })
  t.throws(() => verifyZoomSignature(GOOD, 'x', BODY, opts()), { code: 'ZR_TIMESTAMP_MALFORMED', message: /x-zm-request-timestamp/ })
  t.throws(() => verifyZoomSignature(GOOD, '1', BODY, opts()), { code: 'ZR_TIMESTAMP_OUT_OF_WINDOW', reason: 'timestamp_out_of_window' })
  t.throws(() => verifyZoomSignature(opensslZoomSignature('other', TS, BODY), TS, BODY, opts()), { code: 'ZR_SIGNATURE_MISMATCH', statusCode: 401 })
  t.equal(outcome(undefined, undefined, BODY, opts()), 'timestamp_missing', 'both missing: one reason, the timestamp')
})

t.test('malformed signatures', async t => {
  const hex = GOOD.slice(3)
  const cases: Array<[string, string]> = [
    ['no v0= prefix', hex],
    ['v1= prefix', `v1=${hex}`],
    ['V0= prefix', `V0=${hex}`],
    ['v0: instead of v0=', `v0:${hex}`],
    ['sha256= prefix', `sha256=${hex}`],
    ['63 hex digits', `v0=${hex.slice(1)}`],
    ['65 hex digits', `v0=${hex}0`],
    ['128 hex digits', `v0=${hex}${hex}`],
    ['non-hex digit', `v0=${hex.slice(0, -1)}g`],
    ['base64 instead of hex', `v0=${Buffer.from(hex, 'hex').toString('base64')}`],
    ['prefix only', 'v0='],
    ['leading space', ` ${GOOD}`],
    ['trailing space', `${GOOD} `],
    ['trailing newline', `${GOOD}\n`],
    ['two signatures', `${GOOD},${GOOD}`],
    ['v0= twice', `v0=${GOOD}`]
  ]
  for (const [name, sig] of cases) t.equal(outcome(sig, TS, BODY, opts()), 'signature_malformed', name)
})

t.test('uppercase hex: Zoom sends a lowercase hex digest, so uppercase is refused as malformed', async t => {
  t.equal(GOOD, GOOD.toLowerCase(), 'the expected signature is lowercase')
  t.equal(outcome(`v0=${GOOD.slice(3).toUpperCase()}`, TS, BODY, opts()), 'signature_malformed', 'all uppercase')
  const mixed = GOOD.replace(/[a-f]/, c => c.toUpperCase())
  t.not(mixed, GOOD, 'the signature has a letter to uppercase')
  t.equal(outcome(mixed, TS, BODY, opts()), 'signature_malformed', 'one uppercase letter')
})

t.test('malformed timestamps', async t => {
  const cases: Array<[string, string]> = [
    ['non-digits', 'abc'],
    ['negative', '-1700000000'],
    ['float', '1700000000.5'],
    ['exponent', '1.7e9'],
    ['plus sign', '+1700000000'],
    ['leading space', ' 1700000000'],
    ['trailing newline', '1700000000\n'],
    ['hex', '0x6553f100'],
    ['milliseconds (13 digits)', '1700000000000'],
    ['Arabic-Indic digits', '١٧٠٠٠٠٠٠٠٠'],
    ['ISO date', '2023-11-14T22:13:20Z']
  ]
  for (const [name, ts] of cases) {
    // Signed over that very timestamp: only the timestamp check can refuse it.
    t.equal(outcome(opensslZoomSignature(SECRET, ts, BODY), ts, BODY, opts()), 'timestamp_malformed', name)
  }
})

t.test('the time window, on both sides and exactly at its edges', async t => {
  const at = (now: number, tolerance = 300): number | AuthFailureReason => outcome(GOOD, TS, BODY, opts({ nowSeconds: now, toleranceSeconds: tolerance }))
  t.equal(at(NOW), 0, 'same second')
  t.equal(at(NOW + 300), 0, 'exactly tolerance seconds late')
  t.equal(at(NOW - 300), 0, 'exactly tolerance seconds early (clock skew)')
  t.equal(at(NOW + 301), 'timestamp_out_of_window', 'one second too late')
  t.equal(at(NOW - 301), 'timestamp_out_of_window', 'one second too early')
  t.equal(at(NOW + 86_400), 'timestamp_out_of_window', 'a day late')
  t.equal(at(NOW - 86_400), 'timestamp_out_of_window', 'a day in the future')
  t.equal(at(NOW + 1, 1), 0, 'tolerance 1, at the edge')
  t.equal(at(NOW + 2, 1), 'timestamp_out_of_window', 'tolerance 1, past the edge')
  t.equal(at(NOW + 1, 0), 'timestamp_out_of_window', 'tolerance 0 accepts only the same second')
  // A replay of a correctly signed old request is refused before any HMAC comparison matters.
  t.equal(outcome(opensslZoomSignature(SECRET, '1', BODY), '1', BODY, opts()), 'timestamp_out_of_window', 'old but correctly signed')
  t.equal(outcome(`v0=${'0'.repeat(64)}`, '1', BODY, opts()), 'timestamp_out_of_window', 'window is checked before the signature')
})

t.test('without toleranceSeconds there is no window (re-verifying stored jobs)', async t => {
  const old = opensslZoomSignature(SECRET, '1', BODY)
  t.equal(verifyZoomSignature(old, '1', BODY, { secretTokens: [SECRET] }), 0, 'a 1970 timestamp verifies')
  t.equal(verifyZoomSignature(old, '1', BODY, { secretTokens: [SECRET], nowSeconds: NOW }), 0, 'nowSeconds alone changes nothing')
  t.equal(outcome(old, '1', BODY, { secretTokens: ['other'] }), 'signature_mismatch', 'the signature is still checked')
})

t.test('nowSeconds defaults to the real clock', async t => {
  const ts = String(Math.floor(Date.now() / 1000))
  t.equal(verifyZoomSignature(opensslZoomSignature(SECRET, ts, BODY), ts, BODY, { secretTokens: [SECRET], toleranceSeconds: 300 }), 0, 'now')
  t.equal(outcome(GOOD, TS, BODY, { secretTokens: [SECRET], toleranceSeconds: 300 }), 'timestamp_out_of_window', 'November 2023 is out of today\'s window')
})

t.test('secret token rotation', async t => {
  const current = 'new-secret-token'
  const previous = 'old-secret-token'
  const byCurrent = opensslZoomSignature(current, TS, BODY)
  const byPrevious = opensslZoomSignature(previous, TS, BODY)
  t.equal(outcome(byCurrent, TS, BODY, opts({ secretTokens: [current, previous] })), 0, 'current token: index 0')
  t.equal(outcome(byPrevious, TS, BODY, opts({ secretTokens: [current, previous] })), 1, 'previous token: index 1')
  t.equal(outcome(byPrevious, TS, BODY, opts({ secretTokens: [previous, current] })), 0, 'the index follows the list order')
  t.equal(outcome(opensslZoomSignature('unknown', TS, BODY), TS, BODY, opts({ secretTokens: [current, previous] })), 'signature_mismatch', 'unknown token')
  t.equal(outcome(byPrevious, TS, BODY, opts({ secretTokens: [current] })), 'signature_mismatch', 'previous token once dropped')
  t.equal(outcome(byCurrent, TS, BODY, opts({ secretTokens: [current, current] })), 0, 'the same token twice: the first index')
  t.equal(outcome(byCurrent, TS, BODY, opts({ secretTokens: [] })), 'signature_mismatch', 'no tokens at all')
})
