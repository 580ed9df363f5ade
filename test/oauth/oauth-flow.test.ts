import { tempFile } from '../helpers/temp-file.js'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startFakeAttendee, startFakeRecall, FakeZoom, type FakeAttendee, type FakeRecall } from '../helpers/fake-providers.js'
import { metricValue } from '../helpers/queue.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay, type TestRelay } from '../helpers/relay.js'
import type { AppConfig } from '../../src/config/config.js'
import { OAuthStateSigner } from '../../src/oauth/oauth-state.js'

const API_KEY = 'recall-api-key-do-not-log'
const CLIENT_ID = 'zoomClientId123'
// Trailing slash on purpose: it must survive byte for byte (Recall's "Invalid Grant" otherwise).
const REDIRECT_URI = 'https://relay.example.com/zoom/oauth/callback/'
const ALICE = { accountId: 'acct-A', userId: 'user-alice' }

async function get (url: string): Promise<{ status: number, location: string | undefined, text: string }> {
  const res = await request(url, { method: 'GET' })
  const location = res.headers.location
  return { status: res.statusCode, location: typeof location === 'string' ? location : undefined, text: await res.body.text() }
}

interface RecallSetup { redis: TestRedis, relay: TestRelay, recall: FakeRecall, zoom: FakeZoom, callback: (q: Record<string, string>) => string }

async function setupRecall (t: Test, env: Record<string, string> = {}): Promise<RecallSetup> {
  const zoom = new FakeZoom()
  const redis = await startTestRedis()
  const recall = await startFakeRecall({ apiKey: API_KEY, appId: RECALL_APP_ID, zoom })
  const relay = await startTestRelay({
    redisUrl: redis.url,
    recallBaseUrl: recall.url,
    role: 'web',
    env: { RECALL_API_KEY: API_KEY, ZOOM_CLIENT_ID: CLIENT_ID, ZOOM_OAUTH_REDIRECT_URI: REDIRECT_URI, ...env }
  })
  t.teardown(async () => { await relay.close(); await recall.close(); await redis.stop() })
  const callback = (q: Record<string, string>): string => `${relay.webUrl ?? ''}/zoom/oauth/callback/?${new URLSearchParams(q).toString()}`
  return { redis, relay, recall, zoom, callback }
}

/** Install → Zoom → callback, as a browser would go through it. */
async function connect (s: RecallSetup, who = ALICE): Promise<{ status: number, location: string | undefined, text: string, state: string, code: string }> {
  const install = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install`)
  const { code, state } = s.zoom.authorize(install.location ?? '', who)
  return { ...await get(s.callback({ code, state })), state, code }
}

function assertNoSecretsLogged (t: Test, relay: TestRelay, secrets: string[]): void {
  const logs = relay.logs.join('')
  for (const secret of secrets) t.notOk(logs.includes(secret), `log never contains ${secret.slice(0, 12)}…`)
}

t.test('install redirects to Zoom with client_id, the exact redirect_uri, a single-use state and PKCE S256', async t => {
  const { relay, redis } = await setupRecall(t)
  const install = await get(`${relay.webUrl ?? ''}/zoom/oauth/install?app=default`)
  t.equal(install.status, 302)
  const target = new URL(install.location ?? '')
  t.equal(`${target.origin}${target.pathname}`, 'https://zoom.us/oauth/authorize')
  t.equal(target.searchParams.get('response_type'), 'code')
  t.equal(target.searchParams.get('client_id'), CLIENT_ID)
  t.equal(target.searchParams.get('redirect_uri'), REDIRECT_URI, 'trailing slash preserved')
  const state = target.searchParams.get('state') ?? ''
  t.match(state, /^[A-Za-z0-9_-]{80,200}$/, 'a base64url state')
  t.match(target.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.equal(target.searchParams.get('code_challenge_method'), 'S256')
  t.same(await redis.client().keys('*oauth*'), [], 'issuing a state stores nothing in Redis')

  const second = new URL((await get(`${relay.webUrl ?? ''}/zoom/oauth/install`)).location ?? '')
  t.not(second.searchParams.get('state'), target.searchParams.get('state'), 'a fresh state per install')
  t.equal((await get(`${relay.webUrl ?? ''}/zoom/oauth/install?app=nope`)).status, 404)
})

t.test('callback registers the code with Recall (PKCE verified on the server side) and shows success', async t => {
  const s = await setupRecall(t)
  const done = await connect(s)
  t.equal(done.status, 200)
  t.match(done.text, /Zoom connected/)
  const [credential] = [...s.recall.credentials.values()]
  t.match(credential, { oauth_app: RECALL_APP_ID, account_id: ALICE.accountId, user_id: ALICE.userId })
  const create = s.recall.requests.find(r => r.method === 'POST')
  t.equal(create?.headers.authorization, `Token ${API_KEY}`)
  t.match(create?.body, { oauth_app: RECALL_APP_ID, authorization_code: { code: done.code, redirect_uri: REDIRECT_URI, code_verifier: /^[A-Za-z0-9_-]{43}$/ } })
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { provider: 'recall', outcome: 'connected' }), 1)

  // The same state again (a reload, or a replayed link): refused, nothing sent to Recall.
  const before = s.recall.requests.length
  const replay = await get(s.callback({ code: done.code, state: done.state }))
  t.equal(replay.status, 400)
  t.equal(s.recall.requests.length, before, 'a reused state never reaches Recall')
  t.match(replay.text, /already used/)
  const used = await s.redis.client().keys('zoom-relay:oauth-state-used:*')
  t.equal(used.length, 1, 'the callback marked the state used')
  const ttl = await s.redis.client().pttl(used[0] ?? '')
  // The state's expiry is kept in whole seconds, rounded up: up to 1 s past the TTL.
  t.ok(ttl > 0 && ttl <= 601_000, `the mark expires with the state (${ttl} ms left)`)
  t.equal((await get(s.callback({ code: 'x', state: 'A'.repeat(43) }))).status, 400, 'unknown state')
  t.equal((await get(s.callback({ code: 'x' }))).status, 400, 'no state')
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { outcome: 'state_invalid' }), 3)
  assertNoSecretsLogged(t, s.relay, [API_KEY, done.code, done.state])
})

t.test('expired, tampered and foreign states are refused with a clear page, before anything reaches Recall', async t => {
  const s = await setupRecall(t)
  const app = (secretTokens: string[]): AppConfig => ({ name: 'default', path: '/zoom/webhook', secretTokens, destinations: [], oauth: { clientId: CLIENT_ID, redirectUri: REDIRECT_URI, authorizeUrl: 'https://zoom.us/oauth/authorize', registrar: 'recall' } })
  // Issued by the relay's own key an hour ago (ten-minute lifetime): expired.
  const old = new OAuthStateSigner({ apps: [app([SECRET])], ttlSeconds: 600, now: () => Date.now() - 3_600_000 }).issue({ app: 'default' })
  const expired = await get(s.callback({ code: 'zoom-code', state: old.state }))
  t.equal(expired.status, 400)
  t.match(expired.text, /This link has expired/)

  const install = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install`)
  const state = new URL(install.location ?? '').searchParams.get('state') ?? ''
  const bytes = Buffer.from(state, 'base64url')
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1
  const tampered = await get(s.callback({ code: 'zoom-code', state: bytes.toString('base64url') }))
  t.equal(tampered.status, 400, 'one bit of the MAC changed')
  t.match(tampered.text, /not issued by this service, or was altered/)

  const foreign = new OAuthStateSigner({ apps: [app(['another-relay-secret-token'])], ttlSeconds: 600 }).issue({ app: 'default' })
  const refused = await get(s.callback({ code: 'zoom-code', state: foreign.state }))
  t.equal(refused.status, 400, 'signed with another key')
  t.match(refused.text, /not issued by this service/)
  t.equal(s.recall.requests.length, 0, 'nothing reached Recall')
  t.same(await s.redis.client().keys('*oauth*'), [], 'and nothing was written to Redis')
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { outcome: 'state_invalid' }), 3)
})

t.test('a tampered PKCE verifier would fail at Zoom: the relay sends the verifier of this state only', async t => {
  const s = await setupRecall(t)
  const first = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install`)
  const second = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install`)
  // Zoom issued the code for the first install's challenge; the callback carries the second install's state.
  const { code } = s.zoom.authorize(first.location ?? '', ALICE)
  const otherState = new URL(second.location ?? '').searchParams.get('state') ?? ''
  const answer = await get(s.callback({ code, state: otherState }))
  t.equal(answer.status, 502, 'Recall (Zoom) refuses the mismatched verifier')
  t.match(answer.text, /did not accept the connection \(HTTP 400\)/)
  t.equal(s.recall.credentials.size, 0)
})

t.test('conflict: an existing credential for the Zoom account is deleted and the credential created again, once', async t => {
  const s = await setupRecall(t)
  const stale = s.recall.addCredential(ALICE)
  const other = s.recall.addCredential({ accountId: 'acct-B', userId: 'user-bob' })
  const done = await connect(s)
  t.equal(done.status, 200)
  t.notOk(s.recall.credentials.has(stale.id), 'the stale credential was deleted')
  t.ok(s.recall.credentials.has(other.id), 'another account\'s credential is untouched')
  t.equal([...s.recall.credentials.values()].filter(c => c.account_id === ALICE.accountId).length, 1, 'exactly one credential for the account')
  t.same(s.recall.requests.map(r => `${r.method} ${r.path}${r.method === 'GET' ? `?${r.query.toString()}` : ''}`), [
    'POST /api/v2/zoom-oauth-credentials/',
    `GET /api/v2/zoom-oauth-credentials/?oauth_app=${RECALL_APP_ID}&account_id=acct-A`,
    `DELETE /api/v2/zoom-oauth-credentials/${stale.id}/`,
    'POST /api/v2/zoom-oauth-credentials/'
  ])
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { outcome: 'replaced' }), 1)
})

t.test('429 with Retry-After and a 503 are retried; a persistent 500 ends on an error page without secrets in the log', async t => {
  const s = await setupRecall(t, { PROVIDER_API_RETRIES: '2' })
  s.recall.force({ method: 'POST', status: 429, headers: { 'retry-after': '1' }, body: { detail: 'Request was throttled.' } }, { method: 'POST', status: 503 })
  const done = await connect(s)
  t.equal(done.status, 200, 'connected after 429 and 503 (the delays are checked in test/providers)')
  t.equal(s.recall.requests.filter(r => r.method === 'POST').length, 3)

  const failing = { method: 'POST', status: 500, body: { detail: 'boom' } }
  s.recall.force(failing, failing, failing)
  const failed = await connect(s, { accountId: 'acct-C', userId: 'user-carol' })
  t.equal(failed.status, 502)
  t.match(failed.text, /Recall did not accept the connection \(HTTP 500\)/)
  t.notMatch(failed.text, /boom|zoom-code/, 'the page shows no API details or code')
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { outcome: 'failed' }), 1)
  t.ok(s.relay.logs.some(l => l.includes('Zoom OAuth registration failed') && l.includes('"status":500')), 'logged with the status')
  assertNoSecretsLogged(t, s.relay, [API_KEY, done.code, failed.code, failed.state])
})

t.test('the person declines at Zoom: a clear page, nothing sent to Recall', async t => {
  const s = await setupRecall(t)
  const install = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install`)
  const state = new URL(install.location ?? '').searchParams.get('state') ?? ''
  const answer = await get(s.callback({ error: 'access_denied', state }))
  t.equal(answer.status, 400)
  t.match(answer.text, /Zoom answered: access_denied/)
  t.equal(s.recall.requests.length, 0)
})

interface AttendeeSetup { relay: TestRelay, attendee: FakeAttendee, zoom: FakeZoom, install: (query?: string) => Promise<{ status: number, location: string | undefined, text: string }>, callback: (q: Record<string, string>) => Promise<{ status: number, location: string | undefined, text: string }> }

/** A relay whose `bots` app registers codes with an Attendee stand-in holding two Zoom OAuth apps. */
async function setupAttendee (t: Test, destinationExtra = ''): Promise<AttendeeSetup> {
  const zoom = new FakeZoom()
  const attendee = await startFakeAttendee({ apiKey: 'attendee-key', zoom, apps: ['zoa_123', 'zoa_other'] })
  const redis = await startTestRedis()
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: bots
    secretToken: bots-secret
    destinations:
      - type: attendee
        appId: zoa_123
        baseUrl: ${attendee.url}
        apiKey: \${ATTENDEE_API_KEY}${destinationExtra}
    oauth:
      clientId: attendeeClient
      redirectUri: https://relay.example.com/attendee/oauth/callback
      successUrl: https://app.example.com/zoom-connected?tenant=acme
`)
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { CONFIG_FILE: file, ATTENDEE_API_KEY: 'attendee-key' } })
  t.teardown(async () => { await relay.close(); await attendee.close(); await redis.stop() })
  return {
    relay,
    attendee,
    zoom,
    install: async (query = '') => await get(`${relay.webUrl ?? ''}/zoom/oauth/install?app=bots${query}`),
    callback: async q => await get(`${relay.webUrl ?? ''}/attendee/oauth/callback?${new URLSearchParams(q).toString()}`)
  }
}

t.test('Attendee: with Attendee\'s default flags a connection is created (no PKCE), and the success URL learns provider and id', async t => {
  const s = await setupAttendee(t)
  const install = await s.install()
  t.equal(install.status, 302)
  const target = new URL(install.location ?? '')
  t.equal(target.searchParams.get('client_id'), 'attendeeClient')
  t.equal(target.searchParams.get('code_challenge'), null, 'no PKCE for Attendee')
  const { code, state } = s.zoom.authorize(install.location ?? '', ALICE)
  const done = await s.callback({ code, state })
  t.equal(done.status, 302)
  const [connection] = [...s.attendee.connections.values()]
  t.match(connection, { zoom_oauth_app_id: 'zoa_123', user_id: ALICE.userId, account_id: ALICE.accountId, state: 'connected', metadata: null, is_local_recording_token_supported: true, is_onbehalf_token_supported: false })
  t.equal(done.location, `https://app.example.com/zoom-connected?tenant=acme&provider=attendee&id=${connection?.id ?? '-'}`, 'the configured query kept; no ref given, none added')
  const [create] = s.attendee.requests
  t.equal(create?.headers.authorization, 'Token attendee-key')
  t.same(create?.body, {
    zoom_oauth_app_id: 'zoa_123',
    authorization_code: code,
    redirect_uri: 'https://relay.example.com/attendee/oauth/callback',
    is_local_recording_token_supported: true,
    is_onbehalf_token_supported: false
  }, 'exactly the fields Attendee accepts, with its defaults')
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { provider: 'attendee', outcome: 'connected' }), 1)
})

t.test('Attendee: ref travels with the state into the metadata and the success URL; installing again keeps the one connection', async t => {
  const s = await setupAttendee(t, '\n        isOnbehalfTokenSupported: true')
  const connectAs = async (ref: string): Promise<{ status: number, location: string | undefined }> => {
    const install = await s.install(`&ref=${ref}`)
    t.equal(install.status, 302)
    t.notMatch(install.location ?? '', ref, 'the ref is not shown to Zoom')
    const { code, state } = s.zoom.authorize(install.location ?? '', ALICE)
    return await s.callback({ code, state })
  }
  const first = await connectAs('customer_42-A')
  t.equal(first.status, 302)
  const [connection] = [...s.attendee.connections.values()]
  const id = connection?.id ?? '-'
  t.match(id, /^zoc_/)
  t.same(connection?.metadata, { ref: 'customer_42-A' })
  t.match(connection, { is_local_recording_token_supported: true, is_onbehalf_token_supported: true }, 'a configured flag is sent, the other keeps Attendee\'s default')
  const url = new URL(first.location ?? '')
  t.same(Object.fromEntries(url.searchParams), { tenant: 'acme', ref: 'customer_42-A', provider: 'attendee', id })

  // The same Zoom user installs again (say, from another of the customer's accounts): same connection, updated.
  const again = await connectAs('customer_43')
  t.equal(again.status, 302)
  t.equal(s.attendee.connections.size, 1, 'still one connection for the app and Zoom user')
  t.same([...s.attendee.connections.values()][0]?.metadata, { ref: 'customer_43' })
  t.equal(new URL(again.location ?? '').searchParams.get('id'), id, 'same id')
  t.equal(s.attendee.requests.filter(r => r.method === 'POST').length, 2, 'no list or delete: Attendee needs no conflict handling')
  t.same(s.attendee.requests.map(r => r.method), ['POST', 'POST'])
  t.equal(await metricValue(s.relay.metricsUrl, 'zoom_relay_oauth_connections_total', { provider: 'attendee', outcome: 'connected' }), 2)
})

t.test('Attendee refusing the code (missing scopes) ends on the error page', async t => {
  const s = await setupAttendee(t)
  const install = await s.install()
  const { code, state } = s.zoom.authorize(install.location ?? '', { ...ALICE, scopes: ['user:read:user'] })
  const done = await s.callback({ code, state })
  t.equal(done.status, 502)
  t.match(done.text, /Attendee did not accept the connection \(HTTP 400\)/)
  t.equal(s.attendee.connections.size, 0)
  t.ok(s.relay.logs.some(l => l.includes('missing the following required scopes')), 'the log says why')
})

t.test('a bad ref is refused with 400 before anything is stored', async t => {
  const { relay, redis } = await setupRecall(t)
  for (const [what, query] of [
    ['empty', 'ref='],
    ['too long', `ref=${'a'.repeat(129)}`],
    ['a dot', 'ref=a.b'],
    ['an @', 'ref=me%40example.com'],
    ['a space', 'ref=a%20b'],
    ['twice', 'ref=a&ref=b']
  ] as const) {
    const answer = await get(`${relay.webUrl ?? ''}/zoom/oauth/install?${query}`)
    t.equal(answer.status, 400, what)
    t.match(answer.text, /ref must be 1 to 128 characters of A-Z, a-z, 0-9/, `${what}: says what a ref may be`)
  }
  t.same(await redis.client().keys('zoom-relay:oauth-state:*'), [], 'no state stored')
  t.equal((await get(`${relay.webUrl ?? ''}/zoom/oauth/install?ref=${'a'.repeat(128)}`)).status, 302, '128 characters are fine')
})

t.test('Recall: ref and the credential id reach the success URL', async t => {
  const s = await setupRecall(t, { ZOOM_OAUTH_SUCCESS_URL: 'https://app.example.com/done?x=1' })
  const install = await get(`${s.relay.webUrl ?? ''}/zoom/oauth/install?ref=user-7`)
  const { code, state } = s.zoom.authorize(install.location ?? '', ALICE)
  const done = await get(s.callback({ code, state }))
  t.equal(done.status, 302)
  const [credential] = [...s.recall.credentials.values()]
  t.same(Object.fromEntries(new URL(done.location ?? '').searchParams), { x: '1', ref: 'user-7', provider: 'recall', id: credential?.id })
  t.notMatch(JSON.stringify(s.recall.requests.map(r => r.body)), 'user-7', 'Recall has no field for it: never sent there')
})

t.test('a Recall API that does not answer within PROVIDER_API_TIMEOUT_MS: retried, then a clear error page', async t => {
  const s = await setupRecall(t, { PROVIDER_API_TIMEOUT_MS: '300', PROVIDER_API_RETRIES: '1' })
  s.recall.force({ method: 'POST', status: 201, delayMs: 2000 }, { method: 'POST', status: 201, delayMs: 2000 })
  const failed = await connect(s)
  t.equal(failed.status, 502)
  t.match(failed.text, /Recall did not accept the connection \(no answer\)/)
  t.equal(s.recall.requests.filter(r => r.method === 'POST').length, 2, 'one retry after the timeout')
  t.ok(s.relay.logs.some(l => l.includes('timed out')), 'the log says it timed out')
})
