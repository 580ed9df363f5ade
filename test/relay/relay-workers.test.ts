import t, { type Test } from 'tap'
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { eventually, metricValue, openQueue, RECALL_STREAM, streamLength } from '../helpers/queue.js'
import { eventRecordKey } from '../../src/store/history-keys.js'
import { compressBody } from '../../src/store/body-compression.js'
import { historyIndex, readRecord } from '../helpers/history.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay, SECRET } from '../helpers/relay.js'
import { sha256, startSink, type SinkBehaviour } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

async function setup (t: Test, behaviour: SinkBehaviour, env: Record<string, string> = {}) {
  const redis = await startTestRedis()
  const sink = await startSink(behaviour)
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  return { redis, sink, relay, queue }
}

t.test('a destination that fails 3 times then succeeds gets the event exactly once after the failures', async t => {
  const { sink, relay, queue } = await setup(t, (_req, i) => ({ status: i < 3 ? 500 : 200 }))
  const body = meetingCreated(1)
  t.equal(await send(relay.webhookUrl(), body), 200)
  await sink.waitFor(4)
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'job completed')
  t.equal(sink.received.length, 4, 'three failures, one success, nothing more')
  t.ok(sink.received.every(r => r.sha256 === sha256(body)), 'every attempt carried the same bytes')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { outcome: 'retry', status_class: '5xx' }), 3)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { outcome: 'delivered', status_class: '2xx' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_end_to_end_latency_seconds_count', { app: 'default', destination: 'recall' }), 1)
})

t.test('408, 425, 429 (with Retry-After), timeouts and connection resets are retried', async t => {
  const script: Array<ReturnType<SinkBehaviour>> = [
    { status: 408 }, { status: 425 }, { status: 429, headers: { 'retry-after': '0' } },
    { status: 200, delayMs: 1500 }, { status: 200, reset: true }, { status: 204 }
  ]
  const { sink, relay, queue } = await setup(t, (_req, i) => script[i] ?? { status: 200 }, { DELIVERY_TIMEOUT_MS: '400' })
  t.equal(await send(relay.webhookUrl(), meetingCreated(2)), 200)
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 15_000, 'job completed')
  t.equal(sink.received.length, 6, 'five retryable failures, then delivered by the 204')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { outcome: 'retry', status_class: 'none' }), 2, 'timeout and reset counted without status')
})

t.test('a 4xx destination answer dead-letters the job at once, with its status kept', async t => {
  const { sink, relay, queue } = await setup(t, () => ({ status: 400, body: '{"detail":"bad"}' }))
  t.equal(await send(relay.webhookUrl(), meetingCreated(3)), 200)
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'job dead-lettered')
  t.equal(sink.received.length, 1, 'no retry after a permanent rejection')
  const [job] = await queue.getFailed()
  t.match(job?.failedReason, /answered 400: {"detail":"bad"}/)
  t.match(job?.progress, { lastStatus: 400, attempts: 1 })
  t.equal(job?.data.event, 'meeting.created', 'the dead letter keeps the event for replay')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'rejected' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_queue_jobs', { state: 'failed' }), 1)
})

t.test('a destination that never recovers dead-letters the job after RETRY_ATTEMPTS', async t => {
  const { sink, relay, queue } = await setup(t, () => ({ status: 503 }), { RETRY_ATTEMPTS: '3' })
  t.equal(await send(relay.webhookUrl(), meetingCreated(4)), 200)
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'job dead-lettered')
  t.equal(sink.received.length, 3)
  const [job] = await queue.getFailed()
  t.match(job?.progress, { lastStatus: 503, attempts: 3 })
  t.same(job?.stacktrace, [], 'no stack trace per failed attempt piles up in Redis')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'attempts_exhausted' }), 1)
})

t.test('completed retry jobs are trimmed to COMPLETED_JOBS_KEPT', async t => {
  // Each event's first attempt fails, so each becomes a job of the retry queue that then completes.
  const tries = new Map<string, number>()
  const { sink, relay, queue } = await setup(t, req => {
    const n = (tries.get(req.sha256) ?? 0) + 1
    tries.set(req.sha256, n)
    return { status: n === 1 ? 503 : 200 }
  }, { COMPLETED_JOBS_KEPT: '2' })
  for (let i = 0; i < 6; i++) t.equal(await send(relay.webhookUrl(), meetingCreated(100 + i)), 200)
  await sink.waitFor(12)
  await eventually(async () => (await queue.getJobCounts('active', 'waiting', 'delayed')).active === 0 && (await queue.getJobCounts('delayed')).delayed === 0, 5000, 'queue idle')
  t.equal([...tries.values()].filter(n => n === 2).length, 6, 'each event failed once, then was delivered once')
  t.ok(((await queue.getJobCounts('completed')).completed ?? 0) <= 2, 'at most two kept')
})

t.test('an event delivered at its first attempt leaves nothing behind in Redis', async t => {
  const { sink, relay, queue, redis } = await setup(t, () => ({ status: 200 }))
  for (let i = 0; i < 5; i++) t.equal(await send(relay.webhookUrl(), meetingCreated(200 + i)), 200)
  await sink.waitFor(5)
  await eventually(async () => await streamLength(redis.client()) === 0, 5000, 'stream emptied')
  t.same(await queue.getJobCounts('completed', 'waiting', 'delayed', 'failed'), { completed: 0, waiting: 0, delayed: 0, failed: 0 }, 'no job was needed')
  t.same(await redis.client().xpending(RECALL_STREAM, 'relay'), [0, null, null, null], 'nothing pending')
  await eventually(async () => (await redis.client().hget('zoom-relay:last-delivery', 'default/recall')) !== null, 5000, 'last delivery recorded')
})

t.test('web and worker as separate roles; a stored event whose bytes were altered is never sent', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await close(); await sink.close(); await redis.stop() })

  t.equal(await send(web.webhookUrl(), meetingCreated(7)), 200)
  t.equal(await send(web.webhookUrl(), meetingCreated(8)), 200)
  await web.close()
  const client = redis.client()
  const [first] = await client.xrange(RECALL_STREAM, '-', '+', 'COUNT', 1)
  t.ok(first, 'stored while no worker runs')
  t.equal(await streamLength(client), 2)
  // Tamper with the stored bytes behind the relay's back: the event's record holds them, deflated as the relay stores them.
  const fields = Object.fromEntries(chunk(first?.[1] ?? []))
  await client.hset(eventRecordKey('zoom-relay', { name: 'default' }, fields.r ?? ''), 'b', compressBody(Buffer.from(meetingCreated(9))) ?? Buffer.alloc(0))

  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker' })
  t.teardown(async () => { await worker.close() })
  t.equal(worker.webUrl, undefined, 'the worker role serves no webhooks')
  await eventually(async () => (await queue.getJobCounts('failed', 'completed')).failed === 1, 10_000, 'tampered job failed')
  await sink.waitFor(1)
  t.equal(sink.received.length, 1, 'only the untouched event was sent')
  t.equal(sink.received[0]?.sha256, sha256(meetingCreated(8)))
  const [failed] = await queue.getFailed()
  t.match(failed?.failedReason, /no longer matches its signature/)
  t.ok(worker.logs.some(l => l.includes('"level":50') && l.includes('ZR_STORED_EVENT_CORRUPT')), 'logged at error level')
})

t.test('SIGTERM-style close waits for the delivery in flight', async t => {
  const redis = await startTestRedis()
  const sink = await startSink(() => ({ status: 200, delayMs: 700 }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await close(); await sink.close(); await redis.stop() })
  t.equal(await send(relay.webhookUrl(), meetingCreated(10)), 200)
  await sink.waitFor(1)
  await relay.close()
  t.equal(sink.received.length, 1)
  t.equal(await streamLength(redis.client()), 0, 'finished and acknowledged, not abandoned')
  t.same(await queue.getJobCounts('waiting', 'delayed', 'failed'), { waiting: 0, delayed: 0, failed: 0 }, 'not handed to the retry queue either')
})

function chunk (flat: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string])
  return pairs
}

t.test('a stored event that kept killing the workers holding it is dead-lettered as abandoned, not sent again', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  t.equal(await send(web.webhookUrl(), meetingCreated(11)), 200)
  await web.close()
  const client = redis.client()
  // Eleven workers took it and died holding it (BullMQ's maxStalledCount is 10 for jobs).
  await client.xreadgroup('GROUP', 'relay', 'dead-worker', 'COUNT', 1, 'STREAMS', RECALL_STREAM, '>')
  const [[id, [, eventId] = []] = ['', []]] = await client.xrange(RECALL_STREAM, '-', '+')
  for (let i = 0; i < 10; i++) await client.xclaim(RECALL_STREAM, 'relay', 'dead-worker', 0, id)
  // A short lock: the entry is taken over after 2 × 100 ms + 5 s idle.
  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker', env: { DELIVERY_TIMEOUT_MS: '100', PROVIDER_API_TIMEOUT_MS: '100' } })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await worker.close(); await close(); await sink.close(); await redis.stop() })
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 20_000, 'dead-lettered')
  const [job] = await queue.getFailed()
  t.match(job?.failedReason, /Taken over 11 times/)
  t.equal(job?.id, eventId, 'the job id is the event id')
  t.equal(sink.received.length, 0, 'never sent again automatically')
  t.equal(await metricValue(worker.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'abandoned' }), 1)
  await eventually(async () => await streamLength(client) === 0, 5000, 'acknowledged')
})

t.test('a retry job that kept killing the workers holding it is dead-lettered as abandoned in the history too', async t => {
  const redis = await startTestRedis()
  const sink = await startSink(() => ({ status: 503 }))
  // A short lock (2 × 100 ms + 5 s), as above, for the worker that finds the job stalled.
  const env = { DELIVERY_TIMEOUT_MS: '100', PROVIDER_API_TIMEOUT_MS: '100' }
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env })
  const { queue, close } = openQueue(redis.url)
  const client = redis.client()
  t.teardown(async () => { await close(); await sink.close(); await redis.stop() })
  t.equal(await send(relay.webhookUrl(), meetingCreated(12)), 200)
  const [entry] = await historyIndex(client)
  const eventId = entry?.id ?? ''
  await eventually(async () => (await readRecord(client, eventId))?.deliveries.recall?.s === 'retrying', 10_000, 'retrying')
  await relay.close()
  const sent = sink.received.length

  // Its retry job taken by a worker that died holding it, for the eleventh time (BullMQ's
  // maxStalledCount is 10): active, no lock, counted stalled ten times before and marked stalled again.
  const job = await queue.getJob(eventId)
  if (await job?.isDelayed() === true) await job?.promote()
  const takerConnection = new Redis(redis.url, { maxRetriesPerRequest: null })
  const taker = new Worker('{default.recall}', null, { connection: takerConnection, prefix: 'zoom-relay', autorun: false })
  t.equal((await taker.getNextJob('dead-worker'))?.id, eventId, 'taken')
  await taker.close()
  takerConnection.disconnect()
  await client.hset(queue.toKey(eventId), 'stc', 10)
  await client.del(queue.toKey(`${eventId}:lock`))
  await client.sadd(queue.toKey('stalled'), eventId)

  sink.behave(() => ({ status: 200 }))
  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker', env })
  t.teardown(async () => { await worker.close() })
  await eventually(async () => (await readRecord(client, eventId))?.deliveries.recall?.s === 'dead', 20_000, 'recorded as a dead letter')
  const record = await readRecord(client, eventId)
  t.match(record?.deliveries.recall, { s: 'dead', x: 'abandoned', e: /^Taken over 11 times/ })
  t.equal(record?.unsettled, 0, 'settled')
  const [failed] = await queue.getFailed()
  t.equal(failed?.id, eventId, 'in the dead-letter set')
  t.match(failed?.progress, { lastStatus: null, lastError: /^Taken over 11 times/ }, 'the dead letter says why')
  t.equal(await metricValue(worker.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'abandoned' }), 1)
  t.equal(sink.received.length, sent, 'never sent again automatically')
})
