import t from 'tap'
import { Agent, request } from 'undici'
import { eventually, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'
import { redactSecrets } from '../../src/admin/redact.js'

const ADMIN_TOKEN = 'admin-token-0123456789abcdef'

t.test('admin API: refused without the token, and the same dead-letter operations as the CLI with it', async t => {
  const redis = await startTestRedis()
  let accept = false
  const sink = await startSink(() => ({ status: accept ? 200 : 400 }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0' } })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  const admin = relay.adminUrl ?? ''
  t.ok(admin.startsWith('http://127.0.0.1:'), 'served on its own port')

  const body = meetingCreated(1)
  await (await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })).body.dump()
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead-lettered')

  for (const [path, headers] of [['/api/dead-letters', {}], ['/api/status', { authorization: 'Bearer wrong-token-0123456789' }], ['/api/status', { authorization: ADMIN_TOKEN }], ['/ui/api/queues', {}]] as const) {
    const res = await request(`${admin}${path}`, { headers })
    t.equal(res.statusCode, 401, `${path} without the right bearer token: 401`)
    t.match(await res.body.json(), { error: 'ZR_ADMIN_UNAUTHORIZED' })
  }
  const ui = await request(`${admin}/ui`, { headers: { accept: 'text/html,application/xhtml+xml' } })
  t.equal(ui.statusCode, 302, 'the UI sends a browser to the login form')
  t.equal(ui.headers.location, '/login')
  await ui.body.dump()

  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const list = await request(`${admin}/api/dead-letters?status=400`, { headers: auth })
  t.equal(list.statusCode, 200)
  const rows = await list.body.json() as Array<{ id: string, lastStatus: number }>
  t.equal(rows.length, 1)
  t.equal(rows[0]?.lastStatus, 400)

  const badFilter = await request(`${admin}/api/dead-letters?since=yesterday`, { headers: auth })
  t.equal(badFilter.statusCode, 400)
  t.match(await badFilter.body.json(), { error: 'ZR_ADMIN_BAD_FILTER' })

  const status = await (await request(`${admin}/api/status`, { headers: auth })).body.json() as { destinations: Array<{ deadLettered: number }> }
  t.equal(status.destinations[0]?.deadLettered, 1)

  const dry = await (await request(`${admin}/api/dead-letters/replay`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: true }) })).body.json()
  t.match(dry, { dryRun: true, replayed: 1 })
  accept = true
  const replay = await (await request(`${admin}/api/dead-letters/replay`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ids: [rows[0]?.id] }) })).body.json()
  t.match(replay, { dryRun: false, replayed: 1 })
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'replayed and delivered')
  t.equal(sink.received.at(-1)?.sha256, sha256(body), 'the original bytes')

  const unfiltered = await request(`${admin}/api/dead-letters/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })
  t.equal(unfiltered.statusCode, 400, 'a purge without filters must say all')
  t.match(await unfiltered.body.json(), { error: 'ZR_DEAD_LETTERS_ALL_REQUIRED' })
  const purge = await (await request(`${admin}/api/dead-letters/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"all":true}' })).body.json()
  t.same(purge, { purged: 0 })
  t.notOk(relay.logs.join('').includes(ADMIN_TOKEN), 'the admin token is never logged')
})

t.test('the queue UI shows job data with secrets redacted', async t => {
  const shown = redactSecrets({
    body: JSON.stringify({ event: 'meeting.created', payload: { object: { id: 1, password: 'x1y2', settings: { encryption_type: 'e2e' } }, plainToken: 'p' } }),
    encoding: 'utf8',
    headers: { 'x-zm-request-timestamp': '1', authorization: 'Bearer nope' },
    signatureSha256: 'abc'
  }) as { body: { payload: { object: { id: number, password: string } , plainToken: string } }, headers: Record<string, string>, signatureSha256: string }
  t.equal(shown.body.payload.object.id, 1)
  t.equal(shown.body.payload.object.password, '[redacted]')
  t.equal(shown.body.payload.plainToken, '[redacted]')
  t.equal(shown.headers.authorization, '[redacted]')
  t.equal(shown.signatureSha256, '[redacted]')
  t.equal(shown.headers['x-zm-request-timestamp'], '1')
})

t.test('sessions, CSRF and blast radius: cross-site changes refused, JSON only, all:true, logout revokes, Secure behind a trusted proxy, login and queue UI limits', async t => {
  const redis = await startTestRedis()
  const sink = await startSink(() => ({ status: 400 }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0', TRUSTED_PROXIES: '127.0.0.1' } })
  const { queue, close } = openQueue(redis.url)
  // Connections from 127.0.0.2 / .3 come from an address that is not a trusted proxy.
  const fromUntrusted = new Agent({ localAddress: '127.0.0.2' })
  const fromFlooder = new Agent({ localAddress: '127.0.0.3' })
  t.teardown(async () => { await fromUntrusted.close(); await fromFlooder.close(); await relay.close(); await close(); await sink.close(); await redis.stop() })
  const admin = relay.adminUrl ?? ''
  const body = meetingCreated(7)
  await (await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })).body.dump()
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead-lettered')
  const [failed] = await queue.getFailed()

  const login = async (headers: Record<string, string> = {}, dispatcher?: Agent): Promise<{ status: number, cookie: string, setCookie: string }> => {
    const res = await request(`${admin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: `token=${ADMIN_TOKEN}`, ...(dispatcher === undefined ? {} : { dispatcher }) })
    await res.body.dump()
    const setCookie = String(res.headers['set-cookie'] ?? '')
    return { status: res.statusCode, cookie: setCookie.split(';')[0] ?? '', setCookie }
  }
  const post = async (path: string, headers: Record<string, string>, payload: string): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await request(`${admin}${path}`, { method: 'POST', headers, body: payload })
    const text = await res.body.text()
    return { status: res.statusCode, json: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : {} }
  }

  const session = await login()
  t.equal(session.status, 302, 'signed in')
  t.match(session.setCookie, /^zr_admin=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/, 'HttpOnly, SameSite=Strict, not Secure over plain HTTP')
  const stored = await redis.client().keys('zoom-relay:admin-session:*')
  t.equal(stored.length, 1, 'the session is kept in Redis')
  t.notOk(stored[0]?.includes(session.cookie.split('=')[1] ?? '-'), 'under a hash, not the id itself')
  const ttl = await redis.client().ttl(stored[0] ?? '')
  t.ok(ttl > 0 && ttl <= 43_200, `with an expiry (${ttl} s)`)
  const second = await login()
  t.not(second.cookie, session.cookie, 'a random id per sign-in')

  // The attack of issue 14: a form on another site posts to the admin API; the browser attaches the cookie.
  const crossSite = await post('/api/dead-letters/purge', { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'all=true')
  t.equal(crossSite.status, 403, 'cross-site form POST with the cookie: refused')
  t.match(crossSite.json, { error: 'ZR_ADMIN_CROSS_SITE' })
  t.equal((await post('/api/dead-letters/purge', { cookie: session.cookie, 'content-type': 'application/json', origin: 'https://evil.example' }, '{"all":true}')).status, 403, 'a foreign Origin (no Sec-Fetch-Site): refused')
  t.equal((await post('/api/dead-letters/purge', { cookie: session.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-site' }, '{"all":true}')).status, 403, 'a sibling site: refused')
  t.equal((await post('/api/dead-letters/purge', { cookie: session.cookie, 'content-type': 'application/json' }, '{"all":true}')).status, 403, 'no Origin and no Sec-Fetch-Site: refused')
  t.equal((await queue.getJobCounts('failed')).failed, 1, 'nothing was purged')

  const sameOrigin = await post('/api/dead-letters/purge', { cookie: session.cookie, 'content-type': 'application/json', origin: admin }, '{"status":599}')
  t.equal(sameOrigin.status, 200, 'same Origin: accepted')
  t.same(sameOrigin.json, { purged: 0 })
  t.equal((await post('/api/dead-letters/replay', { cookie: session.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' }, '{"dryRun":true}')).status, 200, 'Sec-Fetch-Site: same-origin: accepted')
  const viaProxy = await post('/api/dead-letters/replay', { cookie: session.cookie, 'content-type': 'application/json', origin: `https://${new URL(admin).host}`, 'x-forwarded-proto': 'https' }, '{"dryRun":true}')
  t.equal(viaProxy.status, 200, 'behind a trusted TLS proxy, the https Origin is ours')

  // JSON only, for the cookie and the bearer token alike.
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` }
  for (const [headers, what] of [[{ cookie: session.cookie, origin: admin, 'content-type': 'application/x-www-form-urlencoded' }, 'a same-origin form'], [{ ...bearer, 'content-type': 'text/plain' }, 'text/plain'], [bearer, 'no content type']] as const) {
    const res = await post('/api/dead-letters/purge', headers, '{"all":true}')
    t.equal(res.status, 415, `${what}: 415`)
    t.match(res.json, { error: 'ZR_ADMIN_JSON_ONLY' })
  }
  t.equal((await queue.getJobCounts('failed')).failed, 1, 'still nothing purged')

  // Without any filter, purge and replay must say all: true.
  const json = { ...bearer, 'content-type': 'application/json; charset=utf-8' }
  for (const [path, payload] of [['/api/dead-letters/purge', '{}'], ['/api/dead-letters/purge', '{"limit":5}'], ['/api/dead-letters/replay', '{}'], ['/api/dead-letters/purge', '{"all":"yes"}']] as const) {
    const res = await post(path, json, payload)
    t.equal(res.status, 400, `${path} ${payload}: 400`)
    t.match(res.json, { error: 'ZR_DEAD_LETTERS_ALL_REQUIRED', message: /"all": true/ })
  }
  t.match((await post('/api/dead-letters/replay', json, '{"dryRun":true}')).json, { replayed: 1 }, 'a dry run needs no all')
  t.match((await post('/api/dead-letters/purge', json, '{"event":"meeting.deleted"}')).json, { purged: 0 }, 'a filter is enough')

  // bull-board: reads, retry and promote stay; destructive actions are refused, whoever asks.
  const queuePath = `${admin}/ui/api/queues/${encodeURIComponent('{default.recall}')}`
  for (const [method, path] of [['PUT', '/clean/failed'], ['PUT', '/obliterate'], ['PUT', '/empty'], ['POST', '/add'], ['PATCH', `/${failed?.id ?? ''}/update-data`], ['PUT', `/${failed?.id ?? ''}/clean`]] as const) {
    const res = await request(`${queuePath}${path}`, { method, headers: { ...bearer, 'content-type': 'application/json' }, body: '{"name":"x","data":{}}' })
    t.equal(res.statusCode, 403, `${method} ${path}: 403`)
    t.match(await res.body.json(), { error: 'ZR_ADMIN_ACTION_DISABLED' })
  }
  t.equal((await queue.getJobCounts('failed')).failed, 1, 'the dead letter is still there, its data unchanged')
  t.same((await queue.getJob(failed?.id ?? ''))?.data, failed?.data)
  const view = await request(`${queuePath}/${failed?.id ?? ''}`, { headers: bearer })
  t.equal(view.statusCode, 200, 'reading a job is allowed')
  await view.body.dump()
  const retry = await request(`${queuePath}/${failed?.id ?? ''}/retry`, { method: 'PUT', headers: { cookie: session.cookie, 'sec-fetch-site': 'same-origin' } })
  t.ok(retry.statusCode < 300, `retry from the UI is allowed (${retry.statusCode})`)
  await retry.body.dump()
  await eventually(async () => sink.received.length >= 2, 10_000, 'retried')

  // Logout revokes the session: the same cookie no longer works.
  const logout = await request(`${admin}/logout`, { method: 'POST', headers: { cookie: session.cookie, origin: admin } })
  t.equal(logout.statusCode, 302)
  t.match(String(logout.headers['set-cookie']), /^zr_admin=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0/, 'the cookie is cleared')
  await logout.body.dump()
  const after = await request(`${admin}/api/status`, { headers: { cookie: session.cookie } })
  t.equal(after.statusCode, 401, 'the revoked session is refused')
  await after.body.dump()
  const other = await request(`${admin}/api/status`, { headers: { cookie: second.cookie } })
  t.equal(other.statusCode, 200, 'another sign-in is untouched')
  await other.body.dump()
  t.equal((await redis.client().keys('zoom-relay:admin-session:*')).length, 1)
  const crossSiteLogout = await request(`${admin}/logout`, { method: 'POST', headers: { cookie: second.cookie, 'sec-fetch-site': 'cross-site' } })
  t.equal(crossSiteLogout.statusCode, 403, 'logout is a change too: not from another site')
  await crossSiteLogout.body.dump()

  // Secure when the request came over HTTPS, as a trusted proxy says; a claim from anyone else is ignored.
  t.match((await login({ 'x-forwarded-proto': 'https' })).setCookie, /; Secure$/, 'X-Forwarded-Proto: https from the trusted proxy: Secure')
  t.notMatch((await login({ 'x-forwarded-proto': 'https' }, fromUntrusted)).setCookie, /Secure/, 'the same header from an untrusted address: not believed')

  // Sign-in attempts are rate-limited per client address.
  const attempts: number[] = []
  for (let i = 0; i < 12; i++) attempts.push((await login({}, fromFlooder)).status)
  t.same(attempts.slice(0, 10), Array(10).fill(302), 'ten sign-ins a minute')
  t.equal(attempts[11], 429, 'then 429')
  t.equal((await login()).status, 302, 'other addresses are not affected')
  t.notOk(relay.logs.join('').includes(ADMIN_TOKEN), 'the admin token is never logged')
  t.notOk(relay.logs.join('').includes(session.cookie.split('=')[1] ?? '-'), 'nor a session id')
})
