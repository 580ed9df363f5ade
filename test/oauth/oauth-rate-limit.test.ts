import t, { type Test } from 'tap'
import { request } from 'undici'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { startTestRelay, type TestRelay } from '../helpers/relay.js'

const LIMIT = 20
const OAUTH_ENV = {
  RECALL_API_KEY: 'recall-api-key-do-not-log',
  ZOOM_CLIENT_ID: 'zoomClientId123',
  ZOOM_OAUTH_REDIRECT_URI: 'https://relay.example.com/zoom/oauth/callback',
  OAUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT)
}

async function setup (t: Test, env: Record<string, string> = {}): Promise<{ redis: TestRedis, relay: TestRelay }> {
  const redis = await startTestRedis()
  // Recall is never called here: no valid code ever reaches it.
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { ...OAUTH_ENV, ...env } })
  t.teardown(async () => { await relay.close(); await redis.stop() })
  return { redis, relay }
}

async function install (relay: TestRelay, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(`${relay.webUrl ?? ''}/zoom/oauth/install`, { headers })
  await res.body.dump()
  return res.statusCode
}

t.test('a flood of installs: Redis stays as it was, and the address gets 429s after the limit', async t => {
  const { redis, relay } = await setup(t)
  // The relay's own start-up keys are written once /readyz (on the metrics port) has checked Redis.
  await (await request(`${relay.metricsUrl}/readyz`)).body.dump()
  const keysBefore = (await redis.client().keys('*')).sort()
  const sizeBefore = await redis.client().dbsize()

  const statuses: number[] = []
  // The first LIMIT + 1 one after the other (their order matters), then the rest in small batches.
  for (let i = 0; i <= LIMIT; i++) statuses.push(await install(relay))
  for (let i = statuses.length; i < 300; i += 20) {
    statuses.push(...await Promise.all(Array.from({ length: Math.min(20, 300 - i) }, async () => await install(relay))))
  }
  t.equal(statuses.length, 300)
  t.same(statuses.slice(0, LIMIT), Array(LIMIT).fill(302), `the first ${LIMIT} go to Zoom`)
  t.equal(statuses[LIMIT], 429, 'then 429')
  t.ok(statuses.every(s => s === 302 || s === 429), 'nothing else')
  // A minute may end during the flood on a very slow machine, allowing one more round: never more.
  t.ok(statuses.filter(s => s === 429).length >= 300 - 2 * LIMIT, `${statuses.filter(s => s === 429).length} refused`)

  t.equal(await redis.client().dbsize(), sizeBefore, 'DBSIZE unchanged')
  t.same((await redis.client().keys('*')).sort(), keysBefore, 'the same keys')

  const throttled = await request(`${relay.webUrl ?? ''}/zoom/oauth/install`)
  t.equal(throttled.statusCode, 429)
  t.match(throttled.headers['content-type'], /text\/html/, 'a page for the person in the browser')
  t.ok(Number(throttled.headers['retry-after']) > 0, 'with Retry-After')
  t.match(await throttled.body.text(), /Too many connection attempts/)
  const callback = await request(`${relay.webUrl ?? ''}/zoom/oauth/callback?code=x&state=y`)
  t.equal(callback.statusCode, 429, 'the callback shares the budget: made-up codes cannot burn the provider\'s rate limit either')
  await callback.body.dump()

  const webhook = await request(relay.webhookUrl(), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  t.equal(webhook.statusCode, 401, 'webhooks are not rate-limited (answered on their merits)')
  await webhook.body.dump()
})

t.test('X-Forwarded-For is believed only from TRUSTED_PROXIES', async t => {
  await t.test('no trusted proxy: every forwarded address counts as the peer', async t => {
    const { relay } = await setup(t)
    const statuses: number[] = []
    for (let i = 0; i <= LIMIT; i++) statuses.push(await install(relay, { 'x-forwarded-for': `203.0.113.${i + 1}` }))
    t.equal(statuses.filter(s => s === 302).length, LIMIT)
    t.equal(statuses[LIMIT], 429, 'a made-up X-Forwarded-For does not escape the limit')
  })
  await t.test('TRUSTED_PROXIES=127.0.0.1: the client the proxy names is counted', async t => {
    const { relay } = await setup(t, { TRUSTED_PROXIES: '127.0.0.1' })
    const distinct: number[] = []
    for (let i = 0; i <= LIMIT; i++) distinct.push(await install(relay, { 'x-forwarded-for': `203.0.113.${i + 1}` }))
    t.same(distinct, Array(LIMIT + 1).fill(302), 'each client has its own budget')
    const one: number[] = []
    for (let i = 0; i <= LIMIT; i++) one.push(await install(relay, { 'x-forwarded-for': '198.51.100.7, 127.0.0.1' }))
    t.equal(one.filter(s => s === 302).length, LIMIT)
    t.equal(one[LIMIT], 429, 'one client behind the proxy is limited')
    t.equal(await install(relay, { 'x-forwarded-for': '198.51.100.8' }), 302, 'its neighbour is not')
  })
  await t.test('TRUSTED_PROXIES naming another address: the header is ignored again', async t => {
    const { relay } = await setup(t, { TRUSTED_PROXIES: '10.0.0.0/8' })
    const statuses: number[] = []
    for (let i = 0; i <= LIMIT; i++) statuses.push(await install(relay, { 'x-forwarded-for': `203.0.113.${i + 1}` }))
    t.equal(statuses[LIMIT], 429)
  })
})
