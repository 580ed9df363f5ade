import t from 'tap'
import { request } from 'undici'
import { eventually, metricValue, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, urlValidation, zoomHeaders } from '../helpers/zoom.js'

const PREVIOUS = 'previous-secret-zzzzzzzzzzzz'
const API_KEY = 'recall-api-key-yyyyyyyyyyyy'
const AUTHORIZATION = 'Bearer zoom-verification-token-xxxxxxxx'

t.test('at trace level, through valid, invalid, failing and dead-lettered traffic, no secret reaches a log line or a dead letter', async t => {
  const redis = await startTestRedis()
  // Recall stand-in: the first deliveries fail (retries), every 5th is rejected (dead letters), the API refuses (clean-up dead letter).
  const sink = await startSink((req, i) => req.url.includes('zoom-oauth-credentials')
    ? { status: 403, body: '{"detail":"Invalid token."}' }
    : { status: i < 6 ? 500 : i % 5 === 0 ? 400 : 200, body: '{"detail":"nope"}' })
  const relay = await startTestRelay({
    redisUrl: redis.url,
    recallBaseUrl: sink.url,
    env: { LOG_LEVEL: 'trace', ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: PREVIOUS, RECALL_API_KEY: API_KEY, RETRY_ATTEMPTS: '2', DEDUP_WINDOW_SECONDS: '0' }
  })
  const deliveries = openQueue(redis.url)
  const cleanups = openQueue(redis.url, '{default.deauthorization}')
  t.teardown(async () => { await relay.close(); await deliveries.close(); await cleanups.close(); await sink.close(); await redis.stop() })

  const signatures: string[] = []
  const send = async (body: string, secret: string, extra: Record<string, string> = {}): Promise<number> => {
    const headers: Record<string, string> = { ...zoomHeaders(secret, body), authorization: AUTHORIZATION, clientid: 'zoom-client-id', ...extra }
    signatures.push((headers['x-zm-signature'] ?? '').slice(3))
    const res = await request(relay.webhookUrl(), { method: 'POST', headers, body })
    await res.body.dump()
    return res.statusCode
  }
  for (let i = 0; i < 20; i++) t.equal(await send(meetingCreated(i), i % 2 === 0 ? SECRET : PREVIOUS), 200)
  t.equal(await send(urlValidation('plain-token'), SECRET), 200)
  t.equal(await send(meetingCreated(99), 'wrong-secret'), 401)
  t.equal(await send(meetingCreated(98), SECRET, { 'x-zm-request-timestamp': '1' }), 401)
  t.equal(await send(JSON.stringify({ event: 'app_deauthorized', payload: { account_id: 'a', user_id: 'u' } }), SECRET), 200)
  t.equal(await send('{not json', SECRET), 400)

  await eventually(async () => {
    const delivered = await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { outcome: 'delivered' }) ?? 0
    const dead = await metricValue(relay.metricsUrl, 'zoom_relay_dead_lettered_total', { destination: 'recall' }) ?? 0
    return delivered + dead === 21 && (await deliveries.queue.getJobCounts('failed')).failed === dead
  }, 30_000, 'every delivery settled')
  await eventually(async () => (await cleanups.queue.getJobCounts('failed')).failed === 1, 30_000, 'clean-up dead-lettered')
  const deadLetters = [...await deliveries.queue.getFailed(), ...await cleanups.queue.getFailed()]
  t.ok(deadLetters.length >= 2, `${deadLetters.length} dead letters to inspect`)

  const logs = relay.logs.join('\n')
  const records = JSON.stringify(deadLetters.map(job => ({ data: job.data, failedReason: job.failedReason, stacktrace: job.stacktrace, progress: job.progress, name: job.name, opts: job.opts })))
  t.ok(logs.length > 10_000, `${relay.logs.length} log lines at trace level`)
  for (const [name, secret] of [['secret token', SECRET], ['previous secret token', PREVIOUS], ['Recall API key', API_KEY], ['authorization header', AUTHORIZATION], ['authorization token', 'zoom-verification-token']] as const) {
    t.notOk(logs.includes(secret), `no ${name} in the logs`)
    t.notOk(records.includes(secret), `no ${name} in the dead letters`)
  }
  t.notOk(signatures.some(s => logs.includes(s)), 'no signature value in the logs')
  t.notOk(signatures.some(s => records.includes(s)), 'no signature value in the dead letters')
  t.notOk(sink.received.some(r => r.headers.authorization !== undefined && !r.url.includes('zoom-oauth-credentials')), 'no authorization header forwarded with a webhook')
  t.notOk(sink.received.some(r => r.headers.clientid !== undefined), 'no clientid forwarded')
})
