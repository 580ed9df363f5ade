import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../src/config/load-config.js'
import { DestinationControl } from '../../src/operations/destination-control.js'
import { GATE_POLL_MS } from '../../src/relay/destination-gate.js'
import { eventually, openQueue, openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

/** Time for every worker process to read the shared state a few times over (they poll every GATE_POLL_MS). */
const OBEYED_MS = GATE_POLL_MS * 6

t.test('a paused destination gets nothing from either worker process, uses no attempt, and gets what waited, oldest first, on resume', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  // The first request of the retry-lane event fails; everything else is delivered.
  let failFirst = true
  const sink = await startSink(() => {
    if (failFirst) { failFirst = false; return { status: 503 } }
    return { status: 200 }
  })
  t.teardown(async () => { await sink.close() })
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  t.teardown(async () => { await web.close() })
  // Concurrency 1 in each of two processes: at most two events are out of order at the sink.
  const workerEnv = { DELIVERY_CONCURRENCY: '1', RETRY_BASE_DELAY_MS: '3000', RETRY_MAX_DELAY_MS: '3000' }
  // The second worker reaches the sink under /b, so each worker's deliveries can be told apart.
  const workers = await Promise.all(['', '/b'].map(async path => await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: `${sink.url}${path}`, env: workerEnv })))
  t.teardown(async () => { await Promise.all(workers.map(async w => { await w.stop() })) })

  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const config = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, REDIS_URL: redis.url })
  const control = new DestinationControl(config, client)
  const stream = openStream(redis.url)
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await stream.close(); await close() })

  // An event whose first attempt fails waits in the retry queue (3 s backoff) when the pause comes.
  const retried = meetingCreated(100)
  t.equal(await send(web.webhookUrl(), retried), 200)
  await eventually(async () => (await queue.getJobCounts('delayed')).delayed === 1, 20_000, 'the event waits for its retry')
  const [paused] = await control.pause({ app: 'default', destination: 'recall' })
  t.equal(paused?.state, 'paused')
  t.equal(paused?.paused, true)
  await sleep(OBEYED_MS)

  const bodies = Array.from({ length: 12 }, (_, i) => meetingCreated(200 + i))
  for (const body of bodies) t.equal(await send(web.webhookUrl(), body), 200, 'stored while paused')
  await eventually(async () => await stream.count() === bodies.length, 10_000, 'every event stored in the stream')
  // Well past the retry's due time and several reads of the shared state by both workers.
  await sleep(3000 + OBEYED_MS)
  t.equal(sink.received.length, 1, 'nothing sent while paused (only the failed attempt from before the pause)')
  t.equal(await stream.count(), bodies.length, 'the events wait in the stream')
  const job = (await queue.getJobs(['wait', 'delayed', 'prioritized']))[0]
  t.equal(job?.attemptsMade, 0, 'the waiting retry used no attempt')
  t.same((await control.list({ app: 'default' })).map(r => r.state), ['paused'])

  const [resumed] = await control.resume({ app: 'default', destination: 'recall' })
  t.equal(resumed?.state, 'closed')
  await sink.waitFor(1 + bodies.length + 1, 30_000)
  await eventually(async () => await stream.count() === 0 && (await queue.getJobCounts('completed')).completed === 1, 20_000, 'everything delivered')

  const after = sink.received.slice(1)
  const delivered = after.map(r => r.sha256)
  t.equal(new Set(delivered).size, delivered.length, 'each event once')
  t.ok(delivered.includes(sha256(retried)), 'the retry went out after the resume')
  t.equal(delivered.filter(h => h !== sha256(retried)).length, bodies.length, 'every stored event delivered')
  // Each worker takes one event at a time from the stream, which hands them out oldest first.
  for (const [name, fromWorker] of [['first', (url: string) => !url.startsWith('/b/')], ['second', (url: string) => url.startsWith('/b/')]] as const) {
    const order = after.filter(r => fromWorker(r.url) && r.sha256 !== sha256(retried)).map(r => bodies.findIndex(b => sha256(b) === r.sha256))
    t.ok(order.every((position, i) => i === 0 || position > (order[i - 1] ?? -1)), `the ${name} worker delivered oldest first (${order.join(',')})`)
  }
  const done = await queue.getJobs(['completed'])
  t.equal(done[0]?.attemptsMade, 1, 'the retry was delivered by its first retry: the pause cost it nothing')
})

t.test('a destination paused before a worker starts stays paused from its first read', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const sink = await startSink()
  t.teardown(async () => { await sink.close() })
  const client = new Redis(redis.url)
  t.teardown(() => { client.disconnect() })
  const config = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, REDIS_URL: redis.url })
  const control = new DestinationControl(config, client)
  await control.pause({ destination: 'recall' })

  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  t.teardown(async () => { await relay.close() })
  t.equal(await send(relay.webhookUrl(), meetingCreated(1)), 200)
  await sleep(OBEYED_MS)
  t.equal(sink.received.length, 0, 'nothing sent')
  const res = await fetch(`${relay.metricsUrl}/metrics`)
  t.match(await res.text(), /zoom_relay_destination_state\{app="default",destination="recall",state="paused"\} 1/)
  await control.resume({ destination: 'recall' })
  await sink.waitFor(1)
  t.equal(sink.received.length, 1)
})
