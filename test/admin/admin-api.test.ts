import t from 'tap'
import { request } from 'undici'
import { eventually, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'
import { redactSecrets } from '../../src/admin/redact.js'

const ADMIN_TOKEN = 'admin-token-0123456789abcdef'

t.test('admin API: refused without the token, and the same dead-letter operations as the CLI with it', async t => {
  const redis = await startTestRedis()
  let accept = false
  const sink = await startSink(() => ({ status: accept ? 200 : 400 }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0' } })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  const admin = relay.adminUrl ?? ''
  t.ok(admin.startsWith('http://127.0.0.1:'), 'served on its own port')

  const body = meetingCreated(1)
  await (await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })).body.dump()
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead-lettered')

  for (const [path, headers] of [['/api/dead-letters', {}], ['/api/status', { authorization: 'Bearer wrong-token-0123456789' }], ['/api/status', { authorization: ADMIN_TOKEN }], ['/ui/api/queues', {}]] as const) {
    const res = await request(`${admin}${path}`, { headers })
    t.equal(res.statusCode, 401, `${path} without the right bearer token: 401`)
    t.match(await res.body.json(), { error: 'ZR_ADMIN_UNAUTHORIZED' })
  }
  const ui = await request(`${admin}/ui`, { headers: { accept: 'text/html,application/xhtml+xml' } })
  t.equal(ui.statusCode, 302, 'the UI sends a browser to the login form')
  t.equal(ui.headers.location, '/login')
  await ui.body.dump()

  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const list = await request(`${admin}/api/dead-letters?status=400`, { headers: auth })
  t.equal(list.statusCode, 200)
  const rows = await list.body.json() as Array<{ id: string, lastStatus: number }>
  t.equal(rows.length, 1)
  t.equal(rows[0]?.lastStatus, 400)

  const badFilter = await request(`${admin}/api/dead-letters?since=yesterday`, { headers: auth })
  t.equal(badFilter.statusCode, 400)
  t.match(await badFilter.body.json(), { error: 'ZR_ADMIN_BAD_FILTER' })

  const status = await (await request(`${admin}/api/status`, { headers: auth })).body.json() as { destinations: Array<{ deadLettered: number }> }
  t.equal(status.destinations[0]?.deadLettered, 1)

  const dry = await (await request(`${admin}/api/dead-letters/replay`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: true }) })).body.json()
  t.match(dry, { dryRun: true, replayed: 1 })
  accept = true
  const replay = await (await request(`${admin}/api/dead-letters/replay`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ids: [rows[0]?.id] }) })).body.json()
  t.match(replay, { dryRun: false, replayed: 1 })
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'replayed and delivered')
  t.equal(sink.received.at(-1)?.sha256, sha256(body), 'the original bytes')

  const purge = await (await request(`${admin}/api/dead-letters/purge`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).body.json()
  t.same(purge, { purged: 0 })
  t.notOk(relay.logs.join('').includes(ADMIN_TOKEN), 'the admin token is never logged')
})

t.test('the queue UI shows job data with secrets redacted', async t => {
  const shown = redactSecrets({
    body: JSON.stringify({ event: 'meeting.created', payload: { object: { id: 1, password: 'x1y2', settings: { encryption_type: 'e2e' } }, plainToken: 'p' } }),
    encoding: 'utf8',
    headers: { 'x-zm-request-timestamp': '1', authorization: 'Bearer nope' },
    signatureSha256: 'abc'
  }) as { body: { payload: { object: { id: number, password: string } , plainToken: string } }, headers: Record<string, string>, signatureSha256: string }
  t.equal(shown.body.payload.object.id, 1)
  t.equal(shown.body.payload.object.password, '[redacted]')
  t.equal(shown.body.payload.plainToken, '[redacted]')
  t.equal(shown.headers.authorization, '[redacted]')
  t.equal(shown.signatureSha256, '[redacted]')
  t.equal(shown.headers['x-zm-request-timestamp'], '1')
})
