import t from 'tap'
import { request } from 'undici'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'

async function readyz (base: string): Promise<{ status: number, text: string }> {
  const res = await request(`${base}/readyz`)
  return { status: res.statusCode, text: await res.body.text() }
}

t.test('/readyz on the public port says ready or not ready and nothing else; the details are on the metrics port', async t => {
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web' })
  t.teardown(async () => { await relay.close(); await redis.stop() })
  const web = relay.webUrl ?? ''

  await eventually(async () => (await readyz(web)).status === 200, 10_000, 'ready')
  t.same(JSON.parse((await readyz(web)).text), { ready: true }, 'public: only "ready"')
  t.match(JSON.parse((await readyz(relay.metricsUrl)).text), { ready: true, checks: { redis: 'ok' } }, 'metrics port: the checks')

  await redis.kill()
  await eventually(async () => (await readyz(web)).status === 503, 20_000, 'not ready once Redis is gone')
  const down = await readyz(web)
  t.same(JSON.parse(down.text), { ready: false }, 'public: only "not ready"')
  t.notMatch(down.text, /redis|ECONNREFUSED|127\.0\.0\.1|checks|version/i, 'no names, addresses or errors')
  const details = await readyz(relay.metricsUrl)
  t.equal(details.status, 503)
  t.match(JSON.parse(details.text), { ready: false, checks: { redis: /./ } }, 'the metrics port says what is wrong')
  t.not(JSON.parse(details.text).checks.redis, 'ok')
  await redis.start()
  await eventually(async () => (await readyz(web)).status === 200, 20_000, 'ready again')
})

t.test('bind addresses: the admin server on loopback whatever HOST says; metrics on HOST, or METRICS_HOST', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  // 127.0.0.0/8 is all loopback on Linux: a HOST that is not 127.0.0.1 shows which server follows it, without leaving the machine.
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { HOST: '127.0.0.2', ADMIN_TOKEN: 'admin-token-0123456789abcdef', ADMIN_PORT: '0' } })
  t.teardown(async () => { await relay.close() })
  t.match(relay.webUrl, /^http:\/\/127\.0\.0\.2:\d+$/, 'webhooks on HOST')
  t.match(relay.metricsUrl, /^http:\/\/127\.0\.0\.2:\d+$/, 'metrics on HOST by default')
  t.match(relay.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/, 'admin on 127.0.0.1 by default, not HOST')

  const chosen = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { HOST: '127.0.0.2', METRICS_HOST: '127.0.0.3', ADMIN_HOST: '127.0.0.4', ADMIN_TOKEN: 'admin-token-0123456789abcdef', ADMIN_PORT: '0' } })
  t.teardown(async () => { await chosen.close() })
  t.match(chosen.metricsUrl, /^http:\/\/127\.0\.0\.3:\d+$/, 'METRICS_HOST')
  t.match(chosen.adminUrl, /^http:\/\/127\.0\.0\.4:\d+$/, 'ADMIN_HOST')
  const scrape = await request(`${chosen.metricsUrl}/metrics`)
  t.equal(scrape.statusCode, 200)
  await scrape.body.dump()
})
