import t from 'tap'
import { request } from 'undici'
import { runCli } from '../helpers/cli.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'

const ADMIN_TOKEN = 'admin-token-0123456789abcdef'

interface Row { app: string, destination: string, state: string, paused: boolean, pausedAt: string | null }

t.test('destinations list / pause / resume from the CLI and the admin API share one state', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0' } })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })
  const env = { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: sink.url, REDIS_URL: redis.url }
  const cli = async (...args: string[]): Promise<Row[]> => {
    const run = await runCli(['destinations', ...args, '--json'], env)
    t.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`)
    return JSON.parse(run.stdout) as Row[]
  }

  t.match(await cli('list'), [{ app: 'default', destination: 'recall', state: 'closed', paused: false, pausedAt: null }])
  const paused = await cli('pause', '--destination', 'recall')
  t.match(paused, [{ state: 'paused', paused: true }])
  t.ok(typeof paused[0]?.pausedAt === 'string', 'when it was paused')

  const admin = relay.adminUrl ?? ''
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  // The admin API takes JSON only, also for a change that needs no body.
  const post = { method: 'POST' as const, headers: { ...auth, 'content-type': 'application/json' }, body: '{}' }
  const listed = await (await request(`${admin}/api/destinations`, { headers: auth })).body.json() as { destinations: Row[] }
  t.match(listed.destinations, [{ app: 'default', destination: 'recall', state: 'paused' }], 'the admin API sees the CLI\'s pause')
  const notJson = await request(`${admin}/api/destinations/default/recall/resume`, { method: 'POST', headers: auth })
  t.equal(notJson.statusCode, 415, 'a change without a JSON content type is refused')
  await notJson.body.dump()
  const resumed = await request(`${admin}/api/destinations/default/recall/resume`, post)
  t.equal(resumed.statusCode, 200)
  t.match(await resumed.body.json(), { state: 'closed', paused: false })
  t.match(await cli('list', '--app', 'default'), [{ state: 'closed' }], 'and the CLI sees the API\'s resume')
  const pausedByApi = await request(`${admin}/api/destinations/default/recall/pause`, post)
  t.match(await pausedByApi.body.json(), { state: 'paused' })
  const status = await runCli(['status'], env)
  t.match(status.stdout, /STATE[\s\S]*default\s+recall\s+paused/, 'status shows the state')

  const unknown = await request(`${admin}/api/destinations/default/nope/pause`, post)
  t.equal(unknown.statusCode, 404)
  t.match(await unknown.body.json(), { error: 'ZR_UNKNOWN_DESTINATION' })
  const unauthorized = await request(`${admin}/api/destinations/default/recall/resume`, { method: 'POST' })
  t.equal(unauthorized.statusCode, 401, 'the token is needed')
  await unauthorized.body.dump()

  t.equal((await runCli(['destinations', 'pause'], env)).status, 64, 'pause needs a selection')
  t.equal((await runCli(['destinations', 'explode'], env)).status, 64)
  const missing = await runCli(['destinations', 'resume', '--app', 'nope'], env)
  t.equal(missing.status, 3, 'no such app: exit 3')
  t.match(missing.stderr, /No app "nope"/)
  t.match((await runCli(['destinations', '--help'], env)).stdout, /Usage: zoom-relay destinations/)
  t.match((await runCli(['--help'], env)).stdout, /destinations <list\|pause\|resume>/)
})
