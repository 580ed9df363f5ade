import t, { type Test } from 'tap'
import { request } from 'undici'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET } from '../helpers/relay.js'
import { startRelayProcess, type RelayProcess } from '../helpers/relay-process.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'
import { jsonLogLines } from '../helpers/log-lines.js'

/**
 * The relay as a process (`zoom-relay all`) and a Redis that goes away: the
 * outage is logged once per connection when it starts and once when it ends
 * (not every reconnect tick), and SIGTERM ends the process whatever Redis
 * does. Bounds are generous ("did not hang"), not timings.
 */
const SHUTDOWN_TIMEOUT_MS = 2000
/** Far above SHUTDOWN_TIMEOUT_MS + a few seconds: only a hang exceeds it. */
const EXIT_CAP_MS = 30_000

async function send (url: string, body: string): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

interface LogLine { level: number, msg: string, use?: string, app?: string, destination?: string }

/** The JSON log lines in `text`, from the `from`-th character on. */
function logLines (text: string, from = 0): LogLine[] {
  return jsonLogLines<LogLine>(text.slice(from))
}

/** How often each warning or error (by message and whose it is) was logged. */
function repeats (lines: LogLine[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const l of lines.filter(l => l.level >= 40)) {
    const key = `${l.msg} [${l.use ?? ''}${l.app ?? ''}/${l.destination ?? ''}]`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** Redis, a sink and `zoom-relay all` at LOG_LEVEL info, with one event delivered. */
async function relayDelivering (t: Test): Promise<{ redis: Awaited<ReturnType<typeof startTestRedis>>, relay: RelayProcess, sink: Awaited<ReturnType<typeof startSink>> }> {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startRelayProcess('all', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } })
  t.teardown(async () => { await relay.kill(); await sink.close(); await redis.stop() })
  t.equal(await send(`${relay.url}/zoom/webhook`, meetingCreated(1)), 200)
  await sink.waitFor(1)
  return { redis, relay, sink }
}

t.test('a Redis outage is logged once per connection when it starts and once when it ends, not per retry', async t => {
  const { redis, relay, sink } = await relayDelivering(t)

  const start = relay.output().length
  await redis.kill()
  t.equal(await send(`${relay.url}/zoom/webhook`, meetingCreated(2)), 503, '503 while Redis is down')
  // Several reconnect ticks (every 2 s at most) of every connection.
  await new Promise(resolve => setTimeout(resolve, 9000))
  const during = logLines(relay.output(), start)
  const lost = during.filter(l => l.msg === 'Redis connection lost; reconnecting')
  t.ok(lost.length >= 1, `the outage is logged (${lost.length} connections)`)
  t.equal(new Set(lost.map(l => l.use)).size, lost.length, 'once per connection')
  for (const [what, count] of repeats(during)) t.equal(count, 1, `logged once during the outage: ${what}`)

  await redis.start()
  const body = meetingCreated(3)
  await eventually(async () => await send(`${relay.url}/zoom/webhook`, body).catch(() => 0) === 200, 20_000, 'accepting again')
  await eventually(() => sink.received.some(r => r.sha256 === sha256(body)), 20_000, 'delivered after the outage')
  await eventually(() => logLines(relay.output(), start).filter(l => l.msg === 'Redis connection restored').length >= lost.length, 10_000, 'restored logged')
  const restored = logLines(relay.output(), start).filter(l => l.msg === 'Redis connection restored')
  t.equal(new Set(restored.map(l => l.use)).size, restored.length, 'the end logged once per connection')
  t.same(new Set(restored.map(l => l.use)), new Set(lost.map(l => l.use)), 'for each connection that logged the start')

  relay.child.kill('SIGTERM')
  t.equal(await Promise.race([relay.exited, new Promise(resolve => setTimeout(() => resolve('hung'), EXIT_CAP_MS))]), 0, 'a normal stop exits 0')
})

t.test('SIGTERM while Redis is down ends the process', async t => {
  const { redis, relay } = await relayDelivering(t)

  await redis.kill()
  t.equal(await send(`${relay.url}/zoom/webhook`, meetingCreated(2)), 503, '503 while Redis is down')
  await eventually(() => relay.output().includes('Redis connection lost'), 10_000, 'outage noticed')
  relay.child.kill('SIGTERM')
  const ended = await Promise.race([relay.exited.then(code => ({ code })), new Promise<'hung'>(resolve => setTimeout(() => resolve('hung'), EXIT_CAP_MS))])
  t.not(ended, 'hung', `the process ended after SIGTERM:\n${ended === 'hung' ? relay.output().slice(-3000) : ''}`)
  t.match(relay.output(), /shutting down/, 'the stop was logged')
  t.comment(`exit ${JSON.stringify(ended)}; ${relay.output().split('\n').filter(l => /shut|stopped|in flight|exiting/.test(l)).map(l => (JSON.parse(l) as LogLine).msg).join(' | ')}`)
})
