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

t.test('the log net blanks out secret keys and secret headers wherever the relay could pass them, copying only what it changes', async t => {
  const { Writable } = await import('node:stream')
  const { createLogger, censorSecrets } = await import('../src/logger.js')
  const lines: string[] = []
  const logger = createLogger('info', new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
  const secrets = ['top-token-1', 'app-secret-2', 'rotation-3', 'api-key-4', 'admin-token-5', 'Bearer auth-6', 'v0=sig-7', 'session=cookie-8', 'client-9', 'Bearer auth-10']
  logger.info({
    token: secrets[0],
    app: { name: 'sales', secretToken: secrets[1], secretTokens: [secrets[1], secrets[2]] },
    destination: { name: 'recall', apiKey: secrets[3] },
    admin: { token: secrets[4] },
    headers: { authorization: secrets[5], 'x-zm-signature': secrets[6], 'user-agent': 'Zoom Marketplace/1.0a' },
    req: { method: 'POST', url: '/zoom/webhook', headers: { cookie: secrets[7], clientid: secrets[8], authorization: secrets[9] } }
  }, 'everything at once')
  await new Promise(resolve => setImmediate(resolve))
  const line = lines.join('')
  t.match(line, /everything at once/)
  for (const secret of secrets) t.notOk(line.includes(secret), `${secret} is not in the line`)
  const parsed = JSON.parse(line) as { app: { name: string }, headers: Record<string, string> }
  t.equal(parsed.app.name, 'sales', 'the rest of a censored object is kept')
  t.equal(parsed.headers['user-agent'], 'Zoom Marketplace/1.0a', 'other headers are kept')

  const clean = { app: 'sales', event: 'meeting.created', res: { statusCode: 200 } }
  t.equal(censorSecrets(clean), clean, 'an object without secrets is passed on as it is, not copied')
  const nested = { app: { apiKey: 'k' } }
  const censored = censorSecrets(nested)
  t.not(censored, nested)
  t.same(nested, { app: { apiKey: 'k' } }, 'the caller’s object is never changed')
})
