import { execFileSync } from 'node:child_process'
import t from 'tap'
import { challengeResponse } from '../../src/zoom/challenge.js'
import { verifyZoomSignature, zoomSignature } from '../../src/zoom/signature.js'
import { WebhookAuthError } from '../../src/errors.js'

/** HMAC-SHA256 hex by openssl: an implementation that shares nothing with the code under test. */
function opensslHmac (key: string, message: Buffer): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: message }).toString()
  return out.trim().split(/\s+/).at(-1) ?? ''
}

const SECRET = 'zoom-secret-token-for-vectors'
const BODIES: Array<[string, Buffer]> = [
  ['ASCII', Buffer.from('{"event":"meeting.created","payload":{"object":{"id":1}}}')],
  ['emoji and CJK', Buffer.from('{"event":"meeting.created","payload":{"topic":"🎉 会议 Réunion"}}')],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"event":"x","t":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')])],
  ['CRLF and tabs', Buffer.from('{\r\n\t"event" : "meeting.started"\r\n}\r\n')]
]

t.test('the v0 signature equals openssl\'s HMAC over "v0:<ts>:<raw bytes>"', async t => {
  for (const [name, body] of BODIES) {
    const ts = '1700000000'
    const expected = `v0=${opensslHmac(SECRET, Buffer.concat([Buffer.from(`v0:${ts}:`), body]))}`
    t.equal(zoomSignature(SECRET, ts, body), expected, name)
    t.equal(verifyZoomSignature(expected, ts, body, { secretTokens: [SECRET], toleranceSeconds: 300, nowSeconds: 1_700_000_100 }), 0, `${name}: verifies`)
  }
})

t.test('the challenge answer equals openssl\'s HMAC of the plainToken', async t => {
  const plainToken = 'qgg8vlvZRS6UYooatFL8Aw'
  t.same(challengeResponse(SECRET, plainToken), { plainToken, encryptedToken: opensslHmac(SECRET, Buffer.from(plainToken)) })
})

t.test('window edges, rotation and one changed byte', async t => {
  const body = BODIES[0]?.[1] ?? Buffer.alloc(0)
  const ts = 1_700_000_000
  const sig = `v0=${opensslHmac(SECRET, Buffer.concat([Buffer.from(`v0:${ts}:`), body]))}`
  const verify = (now: number, tokens = [SECRET], b = body): number => verifyZoomSignature(sig, String(ts), b, { secretTokens: tokens, toleranceSeconds: 300, nowSeconds: now })
  t.equal(verify(ts + 300), 0, 'exactly at the edge (after)')
  t.equal(verify(ts - 300), 0, 'exactly at the edge (before)')
  t.throws(() => verify(ts + 301), new WebhookAuthError('timestamp_out_of_window'))
  t.throws(() => verify(ts - 301), new WebhookAuthError('timestamp_out_of_window'))
  t.equal(verify(ts, ['new-token', SECRET]), 1, 'the previous token matches during a rotation')
  t.throws(() => verify(ts, ['new-token', 'other']), new WebhookAuthError('signature_mismatch'))
  const changed = Buffer.from(body)
  changed[10] = (changed[10] as number) ^ 1
  t.throws(() => verify(ts, [SECRET], changed), new WebhookAuthError('signature_mismatch'))
})
