import t from 'tap'
import { request } from 'undici'
import { eventually, metricValue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function readyz (url: string): Promise<{ status: number, body: { ready: boolean, warnings?: Record<string, string> } }> {
  const res = await request(`${url}/readyz`)
  return { status: res.statusCode, body: await res.body.json() as { ready: boolean, warnings?: Record<string, string> } }
}

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

t.test('Redis wiped (FLUSHALL, then a restart without data): noticed, reported once each, and the relay keeps working', async t => {
  const redis = await startTestRedis() // no AOF: a restart comes back empty
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })
  const errors = (): number => relay.logs.filter(l => l.includes('"level":50') && l.includes('Redis has lost its data')).length

  t.equal(await send(relay.webhookUrl(), meetingCreated(1)), 200)
  await sink.waitFor(1)
  t.same((await readyz(relay.metricsUrl)).body.warnings, undefined, 'no warning while the data is there')

  await redis.client().flushall()
  const afterFlush = await readyz(relay.metricsUrl)
  t.equal(afterFlush.status, 200, 'still ready: new events can be stored')
  t.match(afterFlush.body.warnings?.redisData, /Redis lost its data; noticed at/)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_redis_data_losses_total'), 1)
  t.equal(errors(), 1, 'logged at error level')

  const body = meetingCreated(2)
  t.equal(await send(relay.webhookUrl(), body), 200, 'accepting after the wipe')
  await eventually(() => sink.received.some(r => r.sha256 === sha256(body)), 20_000, 'delivered after the wipe')
  for (let i = 0; i < 5; i++) await readyz(relay.metricsUrl)
  t.equal(errors(), 1, 'one report per loss, not a loop')

  await redis.kill()
  await redis.start()
  await eventually(async () => (await metricValue(relay.metricsUrl, 'zoom_relay_redis_data_losses_total')) === 2, 20_000, 'restart without data noticed')
  const third = meetingCreated(3)
  await eventually(async () => await send(relay.webhookUrl(), third) === 200, 20_000, 'accepting after the restart')
  await eventually(() => sink.received.some(r => r.sha256 === sha256(third)), 20_000, 'delivered after the restart')
  t.equal(errors(), 2)
})

t.test('a Redis restarted from its AOF is not a loss', async t => {
  const redis = await startTestRedis({ aof: true })
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })
  await eventually(async () => (await readyz(relay.metricsUrl)).status === 200, 10_000, 'ready')
  await new Promise(resolve => setTimeout(resolve, 1100)) // appendfsync everysec
  await redis.kill()
  await redis.start()
  await eventually(async () => (await readyz(relay.metricsUrl)).status === 200, 20_000, 'ready again')
  t.same((await readyz(relay.metricsUrl)).body.warnings, undefined)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_redis_data_losses_total'), 0)
})
