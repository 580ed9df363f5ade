import t from 'tap'
import type { EventDetail } from '../../src/history/event-detail.js'
import type { ReplayResult } from '../../src/history/event-replay.js'
import type { EventPage } from '../../src/history/event-search.js'
import { runCliInProcess } from '../helpers/cli.js'
import { historyAppsFile, writeScenario } from '../helpers/history-fixtures.js'
import { startTestRedis } from '../helpers/redis-server.js'

t.test('zoom-relay events list / show / replay', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const env = { CONFIG_FILE: historyAppsFile(t), REDIS_URL: redis.url }
  const base = Date.now() - 3_600_000
  const events = await writeScenario(redis.client(), base)
  const names = new Map(Object.entries(events).map(([name, e]) => [e.publicId, name]))
  const cli = async (...args: string[]): Promise<{ status: number | null, stdout: string, stderr: string }> => await runCliInProcess(['events', ...args], env)
  const listed = async (...args: string[]): Promise<string[]> => {
    const run = await cli('list', ...args, '--json')
    t.equal(run.status, 0, `list ${args.join(' ')}: ${run.stderr}`)
    return (JSON.parse(run.stdout) as EventPage).events.map(e => names.get(e.id) ?? e.id)
  }

  t.same(await listed(), ['s6', 's5', 's4', 'p2', 's3', 's2', 'p1', 's1'], 'newest first, every app')
  t.same(await listed('--app', 'sales', '--state', 'pending'), ['s4', 's2'])
  t.same(await listed('--event', 'meeting.*', '--meeting', '111'), ['s4', 'p2', 's1'])
  t.same(await listed('--destination', 'warehouse', '--state', 'dead'), ['s3'])
  t.same(await listed('--account', 'B1'), ['p2', 'p1'])
  t.same(await listed('--since', new Date(base + 1000).toISOString(), '--until', new Date(base + 3000).toISOString()), ['p2', 's3', 's2'])
  t.same(await listed('--since', '50m'), [], 'an age: nothing in the last 50 minutes')

  // A table for people, with the cursor of the next page.
  const table = await cli('list', '--limit', '3')
  t.equal(table.status, 0)
  t.match(table.stdout, /^ID\s+RECEIVEDAT\s+EVENT\s+MEETING\s+STATES\n/)
  t.match(table.stdout, new RegExp(`${events.s4.publicId}\\s+\\S+\\s+meeting\\.ended\\s+111\\s+crm:pending warehouse:delivered`))
  const cursor = /--cursor (\S+)/.exec(table.stdout)?.[1]
  t.type(cursor, 'string', 'the next page\'s cursor is printed')
  t.same(await listed('--limit', '3', '--cursor', cursor ?? ''), ['p2', 's3', 's2'], 'and leads to the next page')

  // show: everything kept, every attempt.
  const shown = await cli('show', events.s4.publicId, '--json')
  t.equal(shown.status, 0)
  const detail = JSON.parse(shown.stdout) as EventDetail
  t.match(detail, { id: events.s4.publicId, body: { kept: true }, destinations: [{ destination: 'crm', state: 'pending' }, { destination: 'warehouse', attemptLog: [{ status: 503 }, { status: 200 }] }] })
  const text = await cli('show', events.s4.publicId)
  t.match(text.stdout, /event\s+meeting\.ended/)
  t.match(text.stdout, /warehouse: delivered — 2 attempts, 0 replays, last status 200/)
  t.match(text.stdout, /AT\s+STATUS\s+DURATIONMS\s+REPLAY\s+ERROR\n.*503\s+15\s+false\s+answered 503\n.*200\s+11\s+false\s+-/)
  t.notMatch(text.stdout + shown.stdout, /x-zm-signature/, 'never the signature')
  t.match((await cli('show', events.s5.publicId)).stdout, /body\s+body no longer kept/)

  // replay: dry run, then for real, to one destination.
  const dry = await cli('replay', events.s1.publicId, '--destination', 'warehouse', '--dry-run', '--json')
  t.equal(dry.status, 0, dry.stderr)
  t.match(JSON.parse(dry.stdout) as ReplayResult, { dryRun: true, replayed: 1, events: [{ id: events.s1.publicId, previousState: 'delivered', jobId: null }] })
  const real = await cli('replay', events.s1.publicId, '--destination', 'warehouse')
  t.equal(real.status, 0, real.stderr)
  t.match(real.stdout, /replayed 1 to warehouse\n$/)
  t.match(real.stdout, new RegExp(`replay-${events.s1.publicId.split('/')[1] ?? ''}-1`))
  t.same(await listed('--meeting', '111', '--app', 'sales', '--destination', 'warehouse', '--state', 'pending'), ['s1'], 'the replayed event waits again for warehouse')
  const byFilter = await cli('replay', '--meeting', '111', '--app', 'sales', '--destination', 'warehouse', '--dry-run', '--json')
  t.same((JSON.parse(byFilter.stdout) as ReplayResult).events.map(e => names.get(e.id)), ['s1', 's4'], 'by filter, oldest first')

  // Refusals and usage, with their exit codes.
  const cases: Array<[string[], number, RegExp]> = [
    [['replay', events.s5.publicId, '--destination', 'warehouse'], 1, /no longer kept/],
    [['replay', events.s3.publicId, '--destination', 'crm'], 64, /excludes .*--force/],
    [['replay', events.s1.publicId, '--destination', 'desk'], 64, /not a destination of app "sales"/],
    [['replay', 'sales/1-0', '--destination', 'warehouse'], 3, /No event "sales\/1-0"/],
    [['replay', events.s1.publicId], 64, /needs --destination/],
    [['replay', '--destination', 'warehouse'], 64, /never means every event/],
    [['replay', events.s1.publicId, '--meeting', '1', '--destination', 'warehouse'], 64, /ids or filters, not both/],
    [['show', 'sales/1-0'], 3, /No event/],
    [['show', 'not-an-id'], 64, /not an event id/],
    [['show'], 64, /one event id/],
    [['list', '--state', 'lost'], 64, /--state must be one of/],
    [['list', '--app', 'nope'], 3, /No app "nope"/],
    [['list', '--since', 'yesterday'], 64, /--since must be an ISO time/],
    [['explode'], 64, /unknown action/]
  ]
  for (const [args, status, message] of cases) {
    const run = await cli(...args)
    t.equal(run.status, status, `${args.join(' ')}: exit ${status}`)
    t.match(run.stderr, message)
  }
  const forced = await cli('replay', events.s3.publicId, '--destination', 'crm', '--force', '--json')
  t.equal(forced.status, 0, '--force sends what the filter excludes')

  t.match((await runCliInProcess(['events', '--help'], {})).stdout, /Usage: zoom-relay events <list\|show\|replay>/, '--help needs no configuration')
  t.match((await runCliInProcess(['--help'], {})).stdout, /events <list\|show\|replay>/)
  const unreachable = await runCliInProcess(['events', 'list'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' })
  t.equal(unreachable.status, 1, 'Redis unreachable: exit 1')
})
