import t from 'tap'
import { request } from 'undici'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay, type TestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, urlValidation, zoomHeaders } from '../helpers/zoom.js'
import { jsonLogLines } from '../helpers/log-lines.js'

/** Sends a webhook signed with `secret`, and answers its status. */
async function send (relay: TestRelay, body: string, secret = SECRET): Promise<number> {
  const res = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(secret, body), body })
  await res.body.dump()
  return res.statusCode
}

/** Every JSON line the relay logged. */
function logLines (relay: TestRelay): Array<Record<string, unknown>> {
  return jsonLogLines(relay.logs.join(''))
}

/** The relay's `request completed` lines for the webhook route. */
function webhookLines (relay: TestRelay): Array<Record<string, unknown>> {
  return logLines(relay).filter(l => l.msg === 'request completed' && (l.req as { url?: string } | undefined)?.url === '/zoom/webhook')
}

t.test('the web server logs one line per request, when it is answered, with status, time, app and event', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  const body = meetingCreated(7)
  t.equal(await send(relay, body), 200)
  t.equal(await send(relay, body, 'not-the-secret'), 401)

  t.equal(logLines(relay).filter(l => l.msg === 'incoming request').length, 0, 'no line when a request arrives')
  const completed = webhookLines(relay)
  t.equal(completed.length, 2, 'one line per webhook request (LOG_LEVEL=debug)')
  t.match(completed[0], { level: 20, reqId: String, req: { method: 'POST', url: '/zoom/webhook' }, res: { statusCode: 200 }, responseTime: Number, app: 'default', event: 'meeting.created' }, 'a stored webhook at debug')
  t.match(completed[1], { level: 30, res: { statusCode: 401 }, app: 'default' }, 'a refusal at info')
  t.not(completed[0]?.reqId, completed[1]?.reqId, 'each line names its request')
})

t.test('at the default LOG_LEVEL=info, stored webhooks write no line; refusals, 503s and URL validations do', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web', env: { LOG_LEVEL: 'info', ENQUEUE_TIMEOUT_MS: '300' } })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  const body = meetingCreated(8)
  t.equal(await send(relay, body), 200, 'stored')
  t.equal(await send(relay, body), 200, 'its duplicate')
  t.equal(await send(relay, urlValidation('plain-token-1')), 200, 'a URL validation')
  t.equal(await send(relay, meetingCreated(9), 'not-the-secret'), 401, 'a bad signature')
  // Redis stops answering: the next webhook is not stored, and Zoom is told to retry.
  redis.signal('SIGSTOP')
  t.equal(await send(relay, meetingCreated(10)), 503, 'not stored')
  redis.signal('SIGCONT')

  const completed = webhookLines(relay)
  t.same(completed.map(l => [l.level, (l.res as { statusCode: number }).statusCode, l.event]), [
    [30, 200, 'endpoint.url_validation'],
    [30, 401, undefined],
    [30, 503, 'meeting.created']
  ], 'only the URL validation, the refusal and the 503, at info')
})
