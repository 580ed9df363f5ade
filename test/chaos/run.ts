import { writeFileSync } from 'node:fs'
import { formatResult, SCENARIOS, type ScenarioOptions, type ScenarioResult } from './scenarios.js'

/**
 * `npm run chaos`: every fault scenario at full size (a few thousand events
 * each). Prints one line per scenario; `--json FILE` also writes the figures.
 * Exits 1 when any scenario lost an acknowledged event, gave up a stream entry as
 * abandoned, or did not accept a fresh event after a fault.
 */
const FULL: ScenarioOptions = {
  events: Number(process.env.CHAOS_EVENTS ?? 3000),
  durationMs: Number(process.env.CHAOS_SECONDS ?? 20) * 1000,
  faults: Number(process.env.CHAOS_FAULTS ?? 6),
  drainMs: 180_000
}
const only = process.argv.slice(2).filter(a => !a.startsWith('--') && !a.endsWith('.json'))
const jsonAt = process.argv.indexOf('--json')

const results: ScenarioResult[] = []
for (const scenario of SCENARIOS) {
  if (only.length > 0 && !only.some(name => scenario.name.toLowerCase().includes(name.replace(/-/g, '').toLowerCase()))) continue
  const started = Date.now()
  const result = await scenario(FULL)
  results.push(result)
  process.stdout.write(`${formatResult(result)} seconds=${Math.round((Date.now() - started) / 1000)}\n`)
}
if (jsonAt !== -1 && process.argv[jsonAt + 1] !== undefined) writeFileSync(process.argv[jsonAt + 1] as string, `${JSON.stringify(results, null, 2)}\n`)
process.exitCode = results.some(r => r.lost > 0 || r.abandoned_entries > 0 || r.accepted_after_faults < r.faults) ? 1 : 0
