import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { configProblems } from '../helpers/config-problems.js'
import type { Config } from '../../src/config/config.js'
import { loadConfig } from '../../src/config/load-config.js'
import { destinationSettings } from '../../src/retry/destination-settings.js'

const dir = mkdtempSync(join(tmpdir(), 'zr-config-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
let n = 0

function load (destinationYaml: string, env: Record<string, string> = {}): Config {
  const file = join(dir, `apps-${n++}.yaml`)
  writeFileSync(file, `apps:\n  - name: sales\n    secretToken: s\n    destinations:\n      - type: http\n        url: https://crm.example.com/hooks\n${destinationYaml.replace(/^/gm, '        ')}\n`)
  return loadConfig({ CONFIG_FILE: file, ...env })
}

const problems = (fn: () => unknown): string[] => configProblems(fn)

t.test('per-destination settings are read and override the env defaults field by field', async t => {
  const config = load(`timeoutMs: 2500
concurrency: 4
retry: { attempts: 5, baseDelayMs: 200 }
rateLimit: { perSecond: 50 }
circuitBreaker: { failures: 3 }`, { RETRY_MAX_DELAY_MS: '60000', CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS: '30000' })
  const destination = config.apps[0]?.destinations[0]
  t.match(destination, { timeoutMs: 2500, concurrency: 4, retry: { attempts: 5, baseDelayMs: 200 }, rateLimit: { perSecond: 50 }, circuitBreaker: { failures: 3 } })
  if (destination === undefined) return
  const settings = destinationSettings(config, destination)
  t.match(settings, { timeoutMs: 2500, concurrency: 4, retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 60_000 }, perSecond: 50, circuitBreaker: { failures: 3, maxProbeIntervalMs: 30_000 } })
  t.equal(settings.horizonMs, 200 + 400 + 800 + 1600, 'horizon: the sum of the schedule')
})

t.test('unset fields take the env values; circuitBreaker: false and CIRCUIT_BREAKER_FAILURES=0 turn it off', async t => {
  const plain = load('name: crm', { DELIVERY_TIMEOUT_MS: '3000', DELIVERY_CONCURRENCY: '7' })
  const crm = plain.apps[0]?.destinations[0]
  if (crm === undefined) return t.fail('no destination')
  t.match(destinationSettings(plain, crm), { timeoutMs: 3000, concurrency: 7, perSecond: undefined, circuitBreaker: { failures: 10, maxProbeIntervalMs: 60_000 } })
  const off = load('circuitBreaker: false')
  t.equal(destinationSettings(off, off.apps[0]?.destinations[0] ?? crm).circuitBreaker, undefined)
  const envOff = load('name: crm', { CIRCUIT_BREAKER_FAILURES: '0' })
  t.equal(destinationSettings(envOff, envOff.apps[0]?.destinations[0] ?? crm).circuitBreaker, undefined)
})

t.test('bad settings name the path and the fix', async t => {
  const found = problems(() => load(`timeoutMs: 10
concurrency: many
retry: 3
rateLimit: {}
circuitBreaker: { failures: 0 }`))
  t.match(found.join('\n'), /destinations\[0\]\.timeoutMs: must be a whole number of milliseconds between 100 and 120000/)
  t.match(found.join('\n'), /destinations\[0\]\.concurrency: must be a whole number/)
  t.match(found.join('\n'), /destinations\[0\]\.retry: must be an object/)
  t.match(found.join('\n'), /destinations\[0\]\.rateLimit\.perSecond: must be a whole number between 1 and 100000/)
  t.match(found.join('\n'), /destinations\[0\]\.circuitBreaker\.failures: must be a whole number between 1 and 100000/)
})
