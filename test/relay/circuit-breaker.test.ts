import { Redis } from 'ioredis'
import t from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../src/config/load-config.js'
import { DestinationControl } from '../../src/operations/destination-control.js'
import { eventually, metricValue, openQueue, openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { oneDestinationConfig } from '../helpers/temp-file.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

t.test('a flapping destination opens the circuit; while open one probe at a time; a delivered probe closes it and everything arrives once', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  let up = false
  let inFlight = 0
  /** Most requests in flight at once while `measuring`. */
  let maxWhileOpen = 0
  let measuring = false
  let probes = 0
  /** Requests in flight as each request arrived once the destination was back. */
  const inFlightAfterRecovery: number[] = []
  const delivered = new Map<string, number>()
  const sink = await startSink(req => {
    inFlight++
    if (measuring) { probes++; maxWhileOpen = Math.max(maxWhileOpen, inFlight) }
    const ok = up
    if (ok) inFlightAfterRecovery.push(inFlight)
    if (ok) delivered.set(req.sha256, (delivered.get(req.sha256) ?? 0) + 1)
    // Slow enough that two requests in flight at once would overlap.
    setTimeout(() => { inFlight-- }, 200)
    return { status: ok ? 200 : 503, delayMs: 200 }
  })
  t.teardown(async () => { await sink.close() })
  const relay = await startTestRelay({
    redisUrl: redis.url,
    recallBaseUrl: sink.url,
    env: { CIRCUIT_BREAKER_FAILURES: '4', CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS: '2000', DELIVERY_CONCURRENCY: '4', RETRY_BASE_DELAY_MS: '100', RETRY_MAX_DELAY_MS: '500' }
  })
  t.teardown(async () => { await relay.close() })
  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const control = new DestinationControl(loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, REDIS_URL: redis.url }), client)
  const state = async (): Promise<string | undefined> => (await control.list())[0]?.state

  const bodies = Array.from({ length: 30 }, (_, i) => meetingCreated(300 + i))
  for (const body of bodies.slice(0, 10)) t.equal(await send(relay.webhookUrl(), body), 200)
  await eventually(async () => await state() === 'open' || await state() === 'half_open', 20_000, 'circuit open')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_destination_state', { state: 'closed' }), 0)
  // Attempts started before the circuit opened finish first; from then on only probes go out.
  await eventually(() => inFlight === 0, 10_000, 'attempts from before the opening finished')
  measuring = true
  for (const body of bodies.slice(10)) t.equal(await send(relay.webhookUrl(), body), 200, 'stored while the circuit is open')
  await eventually(() => probes >= 3, 30_000, 'three probes')
  t.equal(maxWhileOpen, 1, 'at most one request in flight while open')
  const stream = openStream(redis.url)
  t.teardown(async () => { await stream.close() })
  t.ok(await stream.count() > 0, 'events wait in the stream while open')

  up = true
  await eventually(() => bodies.every(b => delivered.has(sha256(b))), 60_000, 'every event delivered after the circuit closed')
  measuring = false
  await eventually(async () => await state() === 'closed', 10_000, 'circuit closed')
  t.ok(bodies.every(b => delivered.get(sha256(b)) === 1), 'each event delivered exactly once')
  // The probe alone, then one per lane (stream and retry) until the first successes double it.
  t.equal(inFlightAfterRecovery[0], 1, 'the probe went alone')
  t.ok(inFlightAfterRecovery.slice(0, 3).every(n => n <= 2), `ramping up, not the whole backlog at once (${inFlightAfterRecovery.slice(0, 8).join(',')})`)
  const { queue, close } = openQueue(redis.url)
  t.teardown(close)
  t.equal((await queue.getJobCounts('failed')).failed, 0, 'nothing dead-lettered')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_destination_state', { state: 'closed' }), 1)
  t.ok(relay.logs.some(l => l.includes('circuit opened')) && relay.logs.some(l => l.includes('circuit closed')), 'opening and closing logged')
})

t.test('events that wait past the retry horizon while the circuit is open become dead letters with reason expired', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const sink = await startSink(() => ({ status: 503 }))
  t.teardown(async () => { await sink.close() })
  // A horizon of 300 ms (retries after 100 and 200 ms): whatever waits for the first probe (1 s) is past it.
  const file = oneDestinationConfig(t, SECRET, `${sink.url}/hook`, ['retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 200 }', 'circuitBreaker: { failures: 2, maxProbeIntervalMs: 1000 }'])
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { CONFIG_FILE: file } })
  t.teardown(async () => { await relay.close() })
  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const control = new DestinationControl(loadConfig({ CONFIG_FILE: file, REDIS_URL: redis.url }), client)

  const first = [meetingCreated(1), meetingCreated(2)]
  for (const body of first) t.equal(await send(relay.webhookUrl('sales'), body), 200)
  await eventually(async () => (await control.list({ app: 'sales' }))[0]?.state !== 'closed', 20_000, 'circuit open after two failures')
  const waiting = [meetingCreated(3), meetingCreated(4), meetingCreated(5)]
  for (const body of waiting) t.equal(await send(relay.webhookUrl('sales'), body), 200)

  const { queue, close } = openQueue(redis.url, '{sales.crm}')
  t.teardown(close)
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 5, 30_000, 'all five are dead letters')
  const failed = await queue.getFailed()
  const expired = failed.filter(j => /expired/.test(j.failedReason))
  t.ok(expired.length >= 3, `the events that waited expired (${expired.length})`)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'expired' }), expired.length)
  const sent = new Set(sink.received.map(r => r.sha256))
  t.ok(waiting.filter(b => !sent.has(sha256(b))).length >= 2, 'events that expired while waiting were never sent')
  t.ok(expired.every(j => j.data.event === 'meeting.created'), 'an expired dead letter keeps its event for replay')
})
