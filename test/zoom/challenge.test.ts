import t from 'tap'
import { challengeResponse, URL_VALIDATION_EVENT } from '../../src/zoom/challenge.js'
import { opensslHmacHex } from '../helpers/openssl.js'

const SECRET = 'Zx9-secret-token_ABC'

t.test('the event name is Zoom\'s', async t => {
  t.equal(URL_VALIDATION_EVENT, 'endpoint.url_validation')
})

t.test('encryptedToken is openssl\'s hex HMAC-SHA256 of the plainToken, keyed with the Secret Token', async t => {
  const tokens = ['qgg8vlvZRS6UYooatFL8Aw', 'a', 'x'.repeat(512), 'token with spaces', 'ümlaut-🎉-会议', '+/=_-.~']
  for (const plainToken of tokens) {
    const answer = challengeResponse(SECRET, plainToken)
    t.equal(answer.encryptedToken, opensslHmacHex(SECRET, Buffer.from(plainToken, 'utf8')), `plainToken ${JSON.stringify(plainToken.slice(0, 24))}`)
    t.match(answer.encryptedToken, /^[0-9a-f]{64}$/, 'lowercase hex, 64 digits')
  }
  t.equal(challengeResponse('sécret-🔑', 'tok').encryptedToken, opensslHmacHex('sécret-🔑', 'tok'), 'non-ASCII secret')
})

t.test('depends on both the secret and the token', async t => {
  const base = challengeResponse(SECRET, 'tok').encryptedToken
  t.not(challengeResponse(`${SECRET}x`, 'tok').encryptedToken, base, 'other secret')
  t.not(challengeResponse(SECRET, 'tok2').encryptedToken, base, 'other token')
  t.not(challengeResponse(SECRET, 'TOK').encryptedToken, base, 'case matters')
  t.equal(challengeResponse(SECRET, 'tok').encryptedToken, base, 'deterministic')
  // Not Zoom's webhook signature format: the plainToken alone is the message.
  t.not(base, opensslHmacHex(SECRET, 'v0:tok'), 'no v0: prefix in the message')
})

t.test('the answer is exactly { plainToken, encryptedToken }, plainToken echoed unchanged', async t => {
  const plainToken = 'qgg8vlvZRS6UYooatFL8Aw'
  const answer = challengeResponse(SECRET, plainToken)
  t.strictSame(answer, { plainToken, encryptedToken: opensslHmacHex(SECRET, plainToken) })
  t.strictSame(Object.keys(answer).sort(), ['encryptedToken', 'plainToken'], 'no other keys')
  t.equal(JSON.stringify(answer), `{"plainToken":"${plainToken}","encryptedToken":"${answer.encryptedToken}"}`, 'serialises to Zoom\'s documented shape')
  const odd = ' \u00e9\u{1f389} '
  t.equal(challengeResponse(SECRET, odd).plainToken, odd, 'no trimming or normalisation')
})
