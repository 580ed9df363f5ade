import t, { type Test } from 'tap'
import { request } from 'undici'
import { eventually, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay, SECRET } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/**
 * A `Retry-After` may lengthen the wait before the next attempt, never
 * shorten it below the backoff schedule. The schedule here is long (base
 * 60 s, ±20 % jitter), so every delay is read from the delayed job in Redis
 * and nothing waits for it: the retry attempt is promoted by hand.
 */
const BASE_MS = 60_000
const ENV = { RETRY_BASE_DELAY_MS: String(BASE_MS), RETRY_MAX_DELAY_MS: String(10 * BASE_MS), RETRY_AFTER_MAX_MS: String(30 * BASE_MS) }
/** The shortest delay the schedule gives after `attemptsMade` failures (jitter is at most −20 %). */
const scheduleFloor = (attemptsMade: number): number => 0.8 * BASE_MS * 2 ** (attemptsMade - 1)

async function setup (t: Test, retryAfter: string) {
  const redis = await startTestRedis()
  const sink = await startSink(() => ({ status: 503, headers: { 'retry-after': retryAfter } }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: ENV })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  const body = meetingCreated(Math.floor(Math.random() * 1e6))
  const res = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  t.equal(res.statusCode, 200, 'accepted')
  return { sink, queue }
}

/** The one delayed job's delay once `attempts` attempts were made, as BullMQ stored it. */
async function delayedAfter (queue: ReturnType<typeof openQueue>['queue'], sink: { received: unknown[] }, attempts: number): Promise<number> {
  let delay = -1
  await eventually(async () => {
    if (sink.received.length > attempts) throw new Error(`${sink.received.length} attempts made: no backoff after attempt ${attempts}`)
    if (sink.received.length < attempts) return false
    const [job] = await queue.getDelayed()
    if (job === undefined || (job.attemptsMade + (job.data.priorAttempts ?? 0)) < attempts) return false
    delay = job.delay
    return true
  }, 15_000, `delayed after attempt ${attempts}`)
  return delay
}

const PAST = 'Sun, 06 Nov 1994 08:49:37 GMT'

for (const [what, value] of [['zero', '0'], ['a date in the past', PAST], ['shorter than the schedule', '2']] as const) {
  t.test(`Retry-After ${what} does not shorten the backoff, first attempt and retry job alike`, async t => {
    const { sink, queue } = await setup(t, value)
    const first = await delayedAfter(queue, sink, 1)
    t.ok(first >= scheduleFloor(1), `after the first attempt: ${first} ms ≥ the schedule's ${scheduleFloor(1)} ms`)
    const [job] = await queue.getDelayed()
    await job?.promote()
    const second = await delayedAfter(queue, sink, 2)
    t.ok(second >= scheduleFloor(2), `after the retry job's attempt: ${second} ms ≥ the schedule's ${scheduleFloor(2)} ms`)
    t.equal(sink.received.length, 2, 'no attempt back to back')
  })
}

t.test('Retry-After longer than the schedule lengthens the wait, capped by RETRY_AFTER_MAX_MS', async t => {
  // 3 h asked: capped at 30 min, which is longer than the schedule's at most 72 s and 144 s.
  const { sink, queue } = await setup(t, String(3 * 3600))
  t.equal(await delayedAfter(queue, sink, 1), 30 * BASE_MS, 'first attempt: the capped Retry-After')
  const [job] = await queue.getDelayed()
  await job?.promote()
  t.equal(await delayedAfter(queue, sink, 2), 30 * BASE_MS, 'retry job: the capped Retry-After')
})
