import t from 'tap'
import { sigtermDuringRedisOutage } from './scenarios.js'
import { runShort, SHORT } from './short-run.js'

// Every relay process is stopped and started again per fault: slow on a busy machine.
t.setTimeout(300_000)

t.test('SIGTERM during a Redis outage', async t => {
  const opts = { ...SHORT, faults: 1 }
  const r = await runShort(t, sigtermDuringRedisOutage, { noDuplicates: false }, opts)
  t.equal(r.faults, opts.faults)
  t.ok(Number(r.extra.stops) >= 2 * opts.faults, 'web and worker stopped at each fault')
  t.equal(r.extra.stopped_in_time, r.extra.stops, 'every process ended after SIGTERM (none hung until SIGKILL)')
})
