import t, { type Test } from 'tap'
import { destinationFlapping, formatResult, redisCrash, redisWipe, sigtermDuringRedisOutage, slowDestination, webKill, workerKill, type ScenarioOptions, type ScenarioResult } from './scenarios.js'

/** The short version of every scenario, so CI keeps `npm run chaos` honest. */
const SHORT: ScenarioOptions = { events: 200, durationMs: 3000, faults: 2, drainMs: 60_000 }

async function run (t: Test, scenario: (o: ScenarioOptions) => Promise<ScenarioResult>, opts: { noDuplicates: boolean }): Promise<ScenarioResult> {
  const result = await scenario(SHORT)
  t.comment(formatResult(result))
  t.ok(result.acked > 0, `${result.acked} events acked`)
  t.equal(result.lost, 0, 'nothing acked is lost')
  t.equal(result.abandoned, 0, 'every event was accepted before "Zoom" gave up re-sending it')
  t.equal(result.abandoned_entries, 0, 'no stream entry was given up as abandoned')
  t.equal(result.accepted_after_faults, result.faults, 'the relay accepted a fresh event after each fault')
  if (opts.noDuplicates) t.equal(result.duplicates, 0, 'no duplicates: no process was killed')
  return result
}

t.test('worker SIGKILLed mid-delivery, repeatedly', async t => {
  const r = await run(t, workerKill, { noDuplicates: false })
  t.equal(r.extra.kills, SHORT.faults)
})

t.test('web SIGKILLed mid-traffic', async t => {
  const r = await run(t, webKill, { noDuplicates: false })
  t.equal(r.extra.kills, SHORT.faults)
})

t.test('Redis SIGKILLed and restarted from its AOF', async t => {
  const r = await run(t, redisCrash, { noDuplicates: false })
  t.equal(r.extra.readyz_red_while_down, true, '/readyz red while Redis is down')
  t.ok(Number(r.extra.refused_503) > 0, 'requests during the outage were answered 503 (and re-sent)')
})

t.test('Redis wiped mid-traffic', async t => {
  const r = await run(t, redisWipe, { noDuplicates: true })
  t.ok(Number(r.extra.loss_reported_by) >= 2, 'web and worker both reported the loss')
  t.equal(r.extra.readyz_warning, true, '/readyz carries a warning')
  t.equal(r.extra.ready_after_wipe, true, 'still ready: new events are stored')
  t.ok(Number(r.extra.error_log_lines) < 200, `error log lines bounded (${String(r.extra.error_log_lines)}), no loop`)
})

t.test('destination flapping', async t => {
  await run(t, destinationFlapping, { noDuplicates: true })
})

t.test('a slow destination holds up nothing else', async t => {
  const r = await run(t, slowDestination, { noDuplicates: true })
  t.equal(r.extra.others_done, true, 'the other destination and the other app got everything')
  t.ok(Number(r.extra.slow_delivered_when_others_done) < r.acked, 'while the slow one was still behind')
  t.equal(r.extra.resent_in_flight, 0, 'never re-sent while an attempt was in flight')
  t.equal(r.extra.other_duplicates, 0)
})

t.test('SIGTERM during a Redis outage', async t => {
  const r = await run(t, sigtermDuringRedisOutage, { noDuplicates: false })
  t.equal(r.faults, SHORT.faults)
  t.ok(Number(r.extra.stops) >= 2 * SHORT.faults, 'web and worker stopped at each fault')
  t.equal(r.extra.stopped_in_time, r.extra.stops, 'every process ended after SIGTERM (none hung until SIGKILL)')
})
