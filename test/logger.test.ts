import t from 'tap'
import { request } from 'undici'
import { eventually, openQueue } from './helpers/queue.js'
import { startTestRedis } from './helpers/redis-server.js'
import { startTestRelay, SECRET } from './helpers/relay.js'
import { startSink } from './helpers/sink.js'
import { meetingCreated, urlValidation, zoomHeaders } from './helpers/zoom.js'

t.test('at the most verbose level, no secret, signature or authorization value reaches the log', async t => {
  const redis = await startTestRedis()
  const sink = await startSink(() => ({ status: 400, body: 'rejected' }))
  const previous = 'previous-secret-token-xyz'
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { LOG_LEVEL: 'trace', ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: previous, RETRY_ATTEMPTS: '2' } })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })

  const signatures: string[] = []
  const authorization = 'Bearer zoom-basic-auth-credential-123'
  const post = async (body: string, headers: Record<string, string>): Promise<number> => {
    signatures.push(headers['x-zm-signature'] ?? '')
    const res = await request(relay.webhookUrl(), { method: 'POST', body, headers: { ...headers, authorization, clientid: 'client-id-456' } })
    await res.body.dump()
    return res.statusCode
  }
  t.equal(await post(meetingCreated(1), zoomHeaders(SECRET, meetingCreated(1))), 200)
  t.equal(await post(urlValidation('tok'), zoomHeaders(previous, urlValidation('tok'))), 200)
  t.equal(await post(meetingCreated(2), { ...zoomHeaders('wrong-secret', meetingCreated(2)) }), 401)
  t.equal(await post('{"event":', zoomHeaders(SECRET, '{"event":')), 400)
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead letter')

  const logs = relay.logs.join('')
  t.ok(logs.length > 0 && logs.includes('dead-lettered'), 'the log has content')
  for (const secret of [SECRET, previous, authorization, 'zoom-basic-auth-credential-123', 'client-id-456', ...signatures.map(s => s.slice(3))]) {
    t.notOk(logs.includes(secret), `log does not contain ${secret.slice(0, 12)}…`)
  }
  const [dead] = await queue.getFailed()
  const stored = JSON.stringify(dead?.data)
  t.notOk(stored.includes(authorization) || stored.includes('client-id-456'), 'the dead letter keeps no authorization or clientid')
})
