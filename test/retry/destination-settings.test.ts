import t from 'tap'
import { request } from 'undici'
import { eventually, metricValue, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { oneDestinationConfig, tempFile } from '../helpers/temp-file.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

t.test('per-destination timeout, concurrency and retry schedule override the env defaults', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const narrow = await startSink(() => ({ status: 200, delayMs: 300 }))
  const stalling = await startSink(() => ({ status: 200, delayMs: 2000 }))
  t.teardown(async () => { await narrow.close(); await stalling.close() })
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretTokens: ["${SECRET}"]
    destinations:
      - type: http
        name: narrow
        url: ${narrow.url}/hook
        concurrency: 2
      - type: http
        name: stalling
        url: ${stalling.url}/hook
        timeoutMs: 300
        retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 50 }
        circuitBreaker: false
`)
  // Env defaults that would show if the file were ignored: 16 in flight, 10 s timeout, 36 attempts.
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: narrow.url, env: { CONFIG_FILE: file, DELIVERY_CONCURRENCY: '16', DELIVERY_TIMEOUT_MS: '10000', RETRY_ATTEMPTS: '36' } })
  t.teardown(async () => { await relay.close() })

  const bodies = Array.from({ length: 8 }, (_, i) => meetingCreated(400 + i))
  for (const body of bodies) t.equal(await send(relay.webhookUrl('sales'), body), 200)
  await narrow.waitFor(bodies.length, 30_000)
  t.equal(narrow.maxInFlight(), 2, 'concurrency 2: never more, and used')

  const stalled = openQueue(redis.url, '{sales.stalling}')
  t.teardown(stalled.close)
  await eventually(async () => (await stalled.queue.getJobCounts('failed')).failed === bodies.length, 30_000, 'every event dead-lettered after its 2 attempts')
  t.equal(stalling.received.length, bodies.length * 2, 'retry.attempts 2: two attempts per event')
  const [job] = await stalled.queue.getFailed()
  t.match(job?.failedReason, /timed out/, 'timeoutMs 300 cut the attempts short (the sink takes 2 s)')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_destination_state', { destination: 'stalling', state: 'closed' }), 1, 'circuitBreaker: false never opens')
})

t.test('first attempts and retries share one concurrency: the destination never has more in flight', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  // Each event's first attempt fails (503), its retry is delivered; both slow, so the
  // stream lane (new events) and the retry lane (earlier ones) are busy at the same time.
  const seen = new Set<string>()
  const sink = await startSink(req => {
    const first = !seen.has(req.sha256)
    seen.add(req.sha256)
    return { status: first ? 503 : 200, delayMs: 150 }
  })
  t.teardown(async () => { await sink.close() })
  const file = oneDestinationConfig(t, SECRET, `${sink.url}/hook`, ['concurrency: 3', 'retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 10 }', 'circuitBreaker: false'])
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { CONFIG_FILE: file } })
  t.teardown(async () => { await relay.close() })

  const bodies = Array.from({ length: 24 }, (_, i) => meetingCreated(600 + i))
  for (const body of bodies) t.equal(await send(relay.webhookUrl('sales'), body), 200)
  await sink.waitFor(bodies.length * 2, 30_000)
  t.same(new Set(sink.received.map(r => r.sha256)), new Set(bodies.map(b => sha256(b))), 'every event arrived')
  t.equal(sink.received.length, bodies.length * 2, 'each twice: the failed first attempt and the retry')
  t.equal(sink.maxInFlight(), 3, 'concurrency 3 across both lanes: never more, and used')
})

t.test('a rate limit holds across two worker processes', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const sink = await startSink()
  t.teardown(async () => { await sink.close() })
  const arrivals: number[] = []
  sink.behave(() => { arrivals.push(Date.now()); return { status: 200 } })
  const perSecond = 10
  const file = oneDestinationConfig(t, SECRET, `${sink.url}/hook`, [`rateLimit: { perSecond: ${perSecond} }`])
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web', env: { CONFIG_FILE: file } })
  t.teardown(async () => { await web.close() })
  const total = 70
  const bodies = Array.from({ length: total }, (_, i) => meetingCreated(500 + i))
  // Stored before any worker runs: the backlog is there for the limit to hold back.
  for (const body of bodies) t.equal(await send(web.webhookUrl('sales'), body), 200)
  const workers = await Promise.all([1, 2].map(async () => await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { CONFIG_FILE: file } })))
  t.teardown(async () => { await Promise.all(workers.map(async w => { await w.stop() })) })
  await sink.waitFor(total, 60_000)
  t.equal(new Set(sink.received.map(r => r.sha256)).size, total, 'each event once')
  t.ok(bodies.every(b => sink.received.some(r => r.sha256 === sha256(b))))

  // Deliveries per second as the sink counted them, over the whole seconds between the first and the last.
  const perSecondCounts = new Map<number, number>()
  for (const at of arrivals) perSecondCounts.set(Math.floor(at / 1000), (perSecondCounts.get(Math.floor(at / 1000)) ?? 0) + 1)
  const seconds = [...perSecondCounts.keys()].sort((a, b) => a - b)
  const inner = seconds.slice(1, -1)
  const innerCount = inner.reduce((sum, s) => sum + (perSecondCounts.get(s) ?? 0), 0)
  t.ok(inner.length >= 4, `a bounded window of whole seconds (${inner.length})`)
  t.ok(innerCount <= perSecond * inner.length * 1.1, `within 10 % of ${perSecond}/s over ${inner.length} s: ${innerCount}`)
  t.ok(Math.max(...perSecondCounts.values()) <= perSecond * 2, `no second far above the limit (${[...perSecondCounts.values()].join(',')})`)
})
