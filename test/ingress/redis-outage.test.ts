import t from 'tap'
import { request } from 'undici'
import { eventStreamKey } from '../../src/store/stream-keys.js'
import { eventually, metricValue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string): Promise<{ status: number, error?: unknown, ms: number }> {
  const started = performance.now()
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  const json = await res.body.json() as { error?: unknown }
  return { status: res.statusCode, error: json.error, ms: Math.round(performance.now() - started) }
}

async function statusOf (url: string): Promise<{ status: number, body: { checks?: Record<string, string> } }> {
  const res = await request(url)
  return { status: res.statusCode, body: await res.body.json() as { checks?: Record<string, string> } }
}

t.test('Redis killed: 503 (never 2xx), readiness red, then recovery without a restart and nothing acked lost', async t => {
  const redis = await startTestRedis({ aof: true })
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  const before = meetingCreated(1)
  t.equal((await send(relay.webhookUrl(), before)).status, 200)
  await sink.waitFor(1)

  // Hold deliveries while Redis is down so an acked event sits in the AOF.
  sink.behave(() => ({ status: 503 }))
  const acked = meetingCreated(2)
  t.equal((await send(relay.webhookUrl(), acked)).status, 200, 'acked while Redis was up')
  // Its first attempt fails and hands it over to the retry queue; one fsync later (appendfsync everysec) the AOF
  // has all of that, so the test does not depend on how fast a loaded machine gets there.
  await eventually(() => sink.received.some(r => r.sha256 === sha256(acked)), 10_000, 'first attempt made')
  const client = redis.client()
  await eventually(async () => (await client.xlen(eventStreamKey('zoom-relay', { name: 'default' }, { name: 'recall' }))) === 0, 10_000, 'handed over to the retry queue')
  await new Promise(resolve => setTimeout(resolve, 1100))
  await redis.kill('SIGKILL')

  for (let i = 0; i < 3; i++) {
    const answer = await send(relay.webhookUrl(), meetingCreated(100 + i))
    t.equal(answer.status, 503, `request ${i} while Redis is down: 503`)
    t.equal(answer.error, 'ZR_ENQUEUE_FAILED')
    t.comment(`503 answered in ${answer.ms} ms`)
  }
  const ready = await statusOf(`${relay.webUrl ?? ''}/readyz`)
  t.equal(ready.status, 503, '/readyz is red')
  t.not(ready.body.checks?.redis, 'ok', `readiness names Redis: ${ready.body.checks?.redis ?? ''}`)
  t.equal((await statusOf(`${relay.webUrl ?? ''}/healthz`)).status, 200, 'process alive')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_enqueue_failures_total', { app: 'default' }), 3)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_ready'), 0)
  t.ok(relay.logs.some(l => l.includes('Redis connection lost')), 'the outage is logged')

  sink.behave(() => ({ status: 200 }))
  await redis.start()
  await eventually(async () => (await statusOf(`${relay.webUrl ?? ''}/readyz`)).status === 200, 20_000, 'ready again')
  const after = meetingCreated(3)
  t.equal((await send(relay.webhookUrl(), after)).status, 200, 'accepting again without a restart')
  await eventually(() => [acked, after].every(b => sink.received.some(r => r.sha256 === sha256(b))), 30_000, 'acked events delivered')
  t.pass('the event acked before the crash and the one after it were both delivered')
  t.notOk(sink.received.some(r => r.body.toString().includes('"id":100')), 'nothing answered 503 was delivered')
})

t.test('Redis hung (SIGSTOP): 503 within the enqueue timeout, then accepting again after SIGCONT', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web', env: { ENQUEUE_TIMEOUT_MS: '300' } })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  t.equal((await send(relay.webhookUrl(), meetingCreated(1))).status, 200)
  redis.signal('SIGSTOP')
  const answer = await send(relay.webhookUrl(), meetingCreated(2))
  t.equal(answer.status, 503, 'a hung Redis gets 503, not a hanging request')
  t.equal(answer.error, 'ZR_ENQUEUE_FAILED')
  t.comment(`503 answered in ${answer.ms} ms with ENQUEUE_TIMEOUT_MS=300`)
  t.equal((await statusOf(`${relay.webUrl ?? ''}/readyz`)).status, 503, 'readiness red while Redis hangs')
  redis.signal('SIGCONT')
  await eventually(async () => (await send(relay.webhookUrl(), meetingCreated(3))).status === 200, 20_000, 'accepting again')
  t.equal((await statusOf(`${relay.webUrl ?? ''}/readyz`)).status, 200)
})
