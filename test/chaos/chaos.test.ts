import t from 'tap'
import { destinationFlapping, redisCrash, redisWipe, slowDestination, webKill, workerKill } from './scenarios.js'
import { runShort, SHORT } from './short-run.js'

// Six scenarios of real processes: far more than tap's 180 s per file on a busy 2-core machine.
t.setTimeout(600_000)

t.test('worker SIGKILLed mid-delivery, repeatedly', async t => {
  const r = await runShort(t, workerKill, { noDuplicates: false })
  t.equal(r.extra.kills, SHORT.faults)
})

t.test('web SIGKILLed mid-traffic', async t => {
  const r = await runShort(t, webKill, { noDuplicates: false })
  t.equal(r.extra.kills, SHORT.faults)
})

t.test('Redis SIGKILLed and restarted from its AOF', async t => {
  const r = await runShort(t, redisCrash, { noDuplicates: false })
  t.equal(r.extra.readyz_red_while_down, true, '/readyz red while Redis is down')
  t.ok(Number(r.extra.refused_503) > 0, 'requests during the outage were answered 503 (and re-sent)')
})

t.test('Redis wiped mid-traffic', async t => {
  const r = await runShort(t, redisWipe, { noDuplicates: true })
  t.ok(Number(r.extra.loss_reported_by) >= 2, 'web and worker both reported the loss')
  t.equal(r.extra.readyz_warning, true, '/readyz carries a warning')
  t.equal(r.extra.ready_after_wipe, true, 'still ready: new events are stored')
  t.ok(Number(r.extra.error_log_lines) < 200, `error log lines bounded (${String(r.extra.error_log_lines)}), no loop`)
})

t.test('destination flapping', async t => {
  await runShort(t, destinationFlapping, { noDuplicates: true })
})

t.test('a slow destination holds up nothing else', async t => {
  const r = await runShort(t, slowDestination, { noDuplicates: true })
  t.equal(r.extra.others_done, true, 'the other destination and the other app got everything')
  t.ok(Number(r.extra.slow_delivered_when_others_done) < r.acked, 'while the slow one was still behind')
  t.equal(r.extra.resent_in_flight, 0, 'never re-sent while an attempt was in flight')
  t.equal(r.extra.other_duplicates, 0)
})
