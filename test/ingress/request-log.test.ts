import t from 'tap'
import { request } from 'undici'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

t.test('the web server logs one line per request, when it is answered, with status, time, app and event', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  const body = meetingCreated(7)
  const accepted = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await accepted.body.dump()
  const refused = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders('not-the-secret', body), body })
  await refused.body.dump()
  t.equal(accepted.statusCode, 200)
  t.equal(refused.statusCode, 401)

  const lines = relay.logs.join('').split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
  t.equal(lines.filter(l => l.msg === 'incoming request').length, 0, 'no line when a request arrives')
  const completed = lines.filter(l => l.msg === 'request completed' && (l.req as { url?: string } | undefined)?.url === '/zoom/webhook')
  t.equal(completed.length, 2, 'one line per webhook request')
  t.match(completed[0], { level: 30, reqId: String, req: { method: 'POST', url: '/zoom/webhook' }, res: { statusCode: 200 }, responseTime: Number, app: 'default', event: 'meeting.created' })
  t.match(completed[1], { res: { statusCode: 401 }, app: 'default' })
  t.not(completed[0]?.reqId, completed[1]?.reqId, 'each line names its request')
})
