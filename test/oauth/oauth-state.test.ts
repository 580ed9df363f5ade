import t from 'tap'
import type { AppConfig } from '../../src/config/config.js'
import { OAuthStateSigner } from '../../src/oauth/oauth-state.js'

const oauthApp = (name: string, secretTokens: string[]): AppConfig => ({
  name,
  path: `/zoom/webhook/${name}`,
  secretTokens,
  destinations: [],
  oauth: { clientId: 'client', redirectUri: 'https://relay.example.com/zoom/oauth/callback', authorizeUrl: 'https://zoom.us/oauth/authorize', registrar: 'recall' }
})
const NOW = Date.UTC(2026, 11, 1, 9, 0, 0)
const signer = (opts: { tokens?: string[], secret?: string, now?: number, apps?: AppConfig[] } = {}): OAuthStateSigner => new OAuthStateSigner({
  apps: opts.apps ?? [oauthApp('sales', opts.tokens ?? ['sales-token'])],
  ...(opts.secret === undefined ? {} : { secret: opts.secret }),
  ttlSeconds: 600,
  now: () => opts.now ?? NOW
})

t.test('a state carries app, ref and expiry; the verifier is derived again from it alone', async t => {
  const s = signer()
  const issued = s.issue({ app: 'sales', ref: 'crm-Contact_42' })
  t.match(issued.state, /^[A-Za-z0-9_-]+$/, 'base64url')
  t.match(issued.codeVerifier, /^[A-Za-z0-9_-]{43}$/, 'an RFC 7636 verifier (256 bits)')
  t.equal(issued.expiresAt, NOW + 600_000)
  t.match(s.verify(issued.state), { app: 'sales', ref: 'crm-Contact_42', expiresAt: NOW + 600_000, codeVerifier: issued.codeVerifier, nonce: /^[A-Za-z0-9_-]{22}$/ })
  const plain = s.issue({ app: 'sales' })
  t.notOk('ref' in (s.verify(plain.state) ?? {}), 'no ref when none was given')
  t.ok(plain.state.length < 200, `short enough for a URL (${plain.state.length} characters)`)
  t.ok(s.issue({ app: 'sales', ref: 'r'.repeat(128) }).state.length < 512, 'the longest ref fits')
  t.not(plain.state, s.issue({ app: 'sales' }).state, 'a fresh nonce per state')
  t.not(plain.codeVerifier, issued.codeVerifier)
  t.throws(() => s.issue({ app: 'sales', ref: 'has space' }), /ref must be/)
  t.throws(() => s.issue({ app: 'sales', ref: 'r'.repeat(129) }), /ref must be/)
  t.throws(() => s.issue({ app: 'nope' }), /no OAuth flow/)
})

t.test('expired, tampered, foreign and malformed states are refused, and say why', async t => {
  const issued = signer().issue({ app: 'sales' })
  t.match(signer({ now: NOW + 599_999 }).check(issued.state), { ok: true })
  t.same(signer({ now: NOW + 600_000 }).check(issued.state), { ok: false, problem: 'expired' })

  const bytes = Buffer.from(issued.state, 'base64url')
  for (const at of [0, 5, bytes.length - 33, bytes.length - 1]) {
    const copy = Buffer.from(bytes)
    copy[at] = (copy[at] ?? 0) ^ 0x01
    t.equal(signer().check(copy.toString('base64url')).ok, false, `a bit changed at byte ${at}`)
  }
  // A well-formed payload naming another app, under the first app's MAC.
  const payload = bytes.subarray(0, bytes.length - 32).toString('latin1').replace('.sales.', '.other.')
  const swapped = Buffer.concat([Buffer.from(payload, 'latin1'), bytes.subarray(bytes.length - 32)]).toString('base64url')
  const both = signer({ apps: [oauthApp('sales', ['sales-token']), oauthApp('other', ['other-token'])] })
  t.same(both.check(swapped), { ok: false, problem: 'forged' }, 'the app cannot be swapped')
  t.same(signer({ tokens: ['another-relay'] }).check(issued.state), { ok: false, problem: 'forged' }, 'another key')
  t.same(signer({ apps: [oauthApp('other', ['sales-token'])] }).check(issued.state), { ok: false, problem: 'forged' }, 'an app this relay does not serve')
  for (const bad of ['', 'A'.repeat(43), 'not base64url!', 'A'.repeat(600), `${issued.state}=`]) {
    t.same(signer().check(bad), { ok: false, problem: 'malformed' }, `malformed: ${bad.slice(0, 20)}`)
  }
  // base64url decoding ignores stray low bits of the last character; a second spelling is refused.
  // 76 bytes (a one-character ref): the last base64url character carries 4 unused bits.
  const odd = signer().issue({ app: 'sales', ref: 'x' }).state
  t.equal(Buffer.from(odd, 'base64url').length % 3, 1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const respelled = odd.slice(0, -1) + (alphabet[alphabet.indexOf(odd.at(-1) ?? 'A') ^ 1] ?? 'A')
  t.same(Buffer.from(respelled, 'base64url'), Buffer.from(odd, 'base64url'), 'the same bytes')
  t.same(signer().check(respelled), { ok: false, problem: 'malformed' }, 'a second spelling of the same bytes is refused')
  t.equal(signer().verify(issued.state.slice(0, -2)), undefined)
})

t.test('keys: OAUTH_STATE_SECRET or the Zoom Secret Token, the previous token accepted during a rotation', async t => {
  const old = signer({ tokens: ['token-old'] }).issue({ app: 'sales' })
  const rotated = signer({ tokens: ['token-new', 'token-old'] })
  t.match(rotated.verify(old.state), { app: 'sales', codeVerifier: old.codeVerifier }, 'same verifier after the rotation')
  t.equal(signer({ tokens: ['token-new'] }).verify(old.state), undefined, 'once the old token is gone, so are its states')

  const withSecret = signer({ secret: 'relay-only-secret-0123456789abcdef' })
  const issued = withSecret.issue({ app: 'sales' })
  t.ok(withSecret.verify(issued.state))
  t.equal(signer().verify(issued.state), undefined, 'a token-derived key does not accept a secret-keyed state')
  t.equal(withSecret.verify(signer().issue({ app: 'sales' }).state), undefined, 'and the other way round')
})
