import t from 'tap'
import { request } from 'undici'
import { runCli, runCliInProcess } from '../helpers/cli.js'
import { eventually, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, urlValidation, zoomHeaders } from '../helpers/zoom.js'

interface Row { id: string, event: string, meeting: string, lastStatus: number, account: string }

t.test('status and dead-letters list / replay / purge against a running relay', async t => {
  const redis = await startTestRedis()
  let accepting = false
  // Meetings 1–3 are rejected with 400, meeting 4 with 422; the rest are delivered.
  const sink = await startSink(req => {
    const id = Number((JSON.parse(req.body.toString()) as { payload: { object: { id: number } } }).payload.object.id)
    return accepting || id > 4 ? { status: 200 } : { status: id === 4 ? 422 : 400, body: '{"detail":"no"}' }
  })
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  const env = { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: sink.url, REDIS_URL: redis.url }
  const send = async (body: string): Promise<void> => {
    const res = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
    await res.body.dump()
  }
  const bodies = [1, 2, 3, 4, 5, 6].map(id => meetingCreated(id))
  for (const body of bodies) await send(body)
  await send(urlValidation('token'))
  const delivered = (body: string): boolean => sink.received.some(r => r.sha256 === sha256(body))
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 4 && delivered(bodies[4] ?? '') && delivered(bodies[5] ?? ''), 15_000, 'four dead letters, two delivered')

  const list = async (...args: string[]): Promise<Row[]> => {
    const run = await runCli(['dead-letters', 'list', '--json', ...args], env)
    t.equal(run.status, 0, `list ${args.join(' ')}: ${run.stderr}`)
    return JSON.parse(run.stdout) as Row[]
  }
  const all = await list()
  t.equal(all.length, 4)
  t.match(all[0], { event: 'meeting.created', account: 'AAAAAAAAAAAAAAAAAAAAAA' })
  t.notMatch(JSON.stringify(all), /v0=|x-zm-signature/, 'no signature in what is listed')
  t.same((await list('--status', '422')).map(r => r.meeting), ['4'])
  t.same((await list('--meeting', 'uuid-2==')).map(r => r.meeting), ['2'], 'by meeting uuid')
  t.same((await list('--meeting', '3')).map(r => r.meeting), ['3'], 'by meeting id')
  t.equal((await list('--account', 'nobody')).length, 0)
  t.equal((await list('--since', '1h', '--event', 'meeting.created')).length, 4)
  t.equal((await list('--until', '1h')).length, 0)
  t.equal((await list('--limit', '2')).length, 2)
  const table = await runCli(['dead-letters', 'list'], env)
  t.match(table.stdout, /^ID\s+APP\s+DESTINATION\s+EVENT\s+MEETING\s+RECEIVEDAT\s+ATTEMPTS\s+LASTSTATUS\s+LASTERROR\n/)

  const dry = await runCli(['dead-letters', 'replay', '--meeting', '2', '--dry-run'], env)
  t.equal(dry.status, 0)
  t.match(dry.stdout, /would replay 1\n$/)
  t.equal((await queue.getJobCounts('failed')).failed, 4, 'a dry run moves nothing')

  accepting = true
  const before = sink.received.length
  const replay = await runCli(['dead-letters', 'replay', '--status', '400', '--json'], env)
  t.equal(replay.status, 0, replay.stderr)
  t.match(JSON.parse(replay.stdout), { dryRun: false, replayed: 3 })
  await eventually(() => sink.received.length === before + 3, 15_000, 'replayed deliveries arrived')
  const replayed = sink.received.slice(before)
  t.same(replayed.map(r => r.sha256).sort(), bodies.slice(0, 3).map(b => sha256(b)).sort(), 'the original bytes')
  t.ok(replayed.every(r => r.headers['x-zm-signature'] === zoomHeaders(SECRET, r.body, Number(r.headers['x-zm-request-timestamp']))['x-zm-signature']), 'with Zoom\'s original signature')
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'one dead letter left')

  const byId = await runCli(['dead-letters', 'replay', 'no-such-id'], env)
  t.match(byId.stdout, /replayed 0/)

  // Without filters, purge and replay need --all (test/cli/commands/dead-letters.test.ts); then purge still asks.
  const refused = await runCli(['dead-letters', 'purge', '--all'], env)
  t.equal(refused.status, 64, 'purge asks first; without a terminal it needs --yes')
  t.match(refused.stderr, /pass --yes/)
  const purge = await runCli(['dead-letters', 'purge', '--yes', '--status', '422'], env)
  t.equal(purge.status, 0)
  t.match(purge.stdout, /purged 1/)
  t.equal((await list()).length, 0)

  const status = await runCli(['status', '--json'], env)
  t.equal(status.status, 0, status.stderr)
  const figures = JSON.parse(status.stdout) as { apps: Array<{ app: string, lastUrlValidation: string, revalidationDueInMs: number }>, destinations: Array<Record<string, unknown>> }
  t.equal(figures.apps[0]?.app, 'default')
  t.ok(figures.apps[0]?.lastUrlValidation !== null, 'the URL validation is on record')
  t.ok((figures.apps[0]?.revalidationDueInMs ?? 0) > 71 * 3600_000, 're-validation due in ~72 h')
  t.match(figures.destinations[0], { app: 'default', destination: 'recall', waiting: 0, deadLettered: 0, oldestWaitingMs: null })
  t.ok(typeof figures.destinations[0]?.lastDelivery === 'string', 'last delivery on record')
  const statusTable = await runCli(['status'], env)
  t.match(statusTable.stdout, /default\s+\S+\s+(71|72)h \d+m/)

  for (const args of [['dead-letters', 'list', '--app', 'nope'], ['dead-letters', 'list', '--since', 'yesterday'], ['dead-letters', 'list', 'x'], ['dead-letters', 'explode']]) {
    t.equal((await runCli(args, env)).status, 64, args.join(' '))
  }
  t.match((await runCli(['dead-letters', '--help'], env)).stdout, /Usage: zoom-relay dead-letters/)
  t.match((await runCli(['status', '--help'], env)).stdout, /Usage: zoom-relay status/)
  const down = await runCli(['status'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' })
  t.equal(down.status, 1, 'Redis unreachable: exit 1')
  t.match(down.stderr, /is not reachable/)
})

t.test('status and dead-letters need Redis and the app names, not the Zoom secrets', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  // The fixture's ${VAR}s (Zoom secrets, a Recall app id) are all unset.
  const env = { REDIS_URL: redis.url, CONFIG_FILE: 'test/fixtures/apps.yaml' }
  const status = await runCliInProcess(['status', '--json'], env)
  t.equal(status.status, 0, status.stderr)
  const parsed = JSON.parse(status.stdout) as { apps: Array<{ app: string }>, destinations: Array<{ app: string, destination: string }> }
  t.same(parsed.apps.map(a => a.app), ['sales', 'support_team-2', '7'])
  t.same(parsed.destinations.map(d => `${d.app}/${d.destination}`), ['sales/recall', 'support_team-2/recall-us', 'support_team-2/attendee', 'support_team-2/audit', '7/recall'])
  const dead = await runCliInProcess(['dead-letters', 'list', '--json', '--app', 'sales'], env)
  t.equal(dead.status, 0, dead.stderr)
  t.same(JSON.parse(dead.stdout), [])
  const envOnly = await runCliInProcess(['status', '--json'], { REDIS_URL: redis.url, RECALL_ZOOM_OAUTH_APP_ID: 'app-1' })
  t.equal(envOnly.status, 0, `no ZOOM_WEBHOOK_SECRET_TOKEN: ${envOnly.stderr}`)
  const relay = await runCliInProcess(['worker'], env)
  t.equal(relay.status, 78, 'the relay itself needs them')
  t.match(relay.stderr, /refers to \$\{SALES_SECRET\}, which is not set/)
})
