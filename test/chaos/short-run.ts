import type { Test } from 'tap'
import { formatResult, type ScenarioOptions, type ScenarioResult } from './scenarios.js'

/** The short version of every scenario, so CI keeps `npm run chaos` honest. */
export const SHORT: ScenarioOptions = { events: 200, durationMs: 3000, faults: 2, drainMs: 60_000 }

/** Runs `scenario` (at `opts`, SHORT by default) and checks what every scenario promises. */
export async function runShort (t: Test, scenario: (o: ScenarioOptions) => Promise<ScenarioResult>, check: { noDuplicates: boolean }, opts: ScenarioOptions = SHORT): Promise<ScenarioResult> {
  const result = await scenario(opts)
  t.comment(formatResult(result))
  t.ok(result.acked > 0, `${result.acked} events acked`)
  t.equal(result.lost, 0, 'nothing acked is lost')
  t.equal(result.abandoned, 0, 'every event was accepted before "Zoom" gave up re-sending it')
  t.equal(result.abandoned_entries, 0, 'no stream entry was given up as abandoned')
  t.equal(result.accepted_after_faults, result.faults, 'the relay accepted a fresh event after each fault')
  if (check.noDuplicates) t.equal(result.duplicates, 0, 'no duplicates: no process was killed')
  return result
}
