import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { sumMetric } from '../test/helpers/queue.js'
import { startTestRedis } from '../test/helpers/redis-server.js'
import { startRelayProcess, type RelayProcess } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { startChild } from './children.js'
import { redisPid, schedstat } from './proc-cpu.js'
import { parseRelaySettings } from './relay-process.js'
import { describeRounds, roundTotals } from './round-metrics.js'
import { median } from './stats.js'
import { findWrk, runSignedLoad } from './wrk.js'
import type { WrkReport } from './wrk-report.js'

/**
 * `node --import tsx bench/gc-cost.ts pauses|alloc [rate] [VAR=value,…]`: what
 * the web role's garbage collection costs under the bench's paced load (wrk,
 * 26 connections, `rate` requests per second, default 5,000, for 10 s; the
 * relay's defaults, log level included, plus the given variables).
 * - pauses: the role under `--trace-gc-nvp`: bytes allocated per request,
 *   scavenges and full collections with their pauses, what survived them,
 *   Redis commands slower than 1 ms (its slowlog) and Redis' latency events
 *   (AOF writes, forks) in the same seconds, how long the role's main thread
 *   and Redis ran and waited for a core (schedstat), its event-loop delay and
 *   group-commit rounds (size, Redis' answer time) from its own metrics,
 *   beside the request latencies: what makes the tail.
 * - alloc: bytes allocated per request by function (V8's sampling heap
 *   profiler, freed objects included; bench/alloc-sampler.ts).
 * Runs the relay from the sources, like bench/cpu-cost.ts and bench/profile.ts.
 */
const mode = process.argv[2] === 'alloc' ? 'alloc' : 'pauses'
const rate = Number(process.argv[3] ?? 5000)
const relayEnv = { LOG_LEVEL: 'info', ...parseRelaySettings(process.argv[4] ?? '') }
const SECONDS = 10
const CONNECTIONS = 26

/** One `--trace-gc-nvp` line: `name=value` pairs after the timestamp. */
type GcEvent = Record<string, string>

function gcEvents (output: string): GcEvent[] {
  return output.split('\n').filter(l => l.includes(' pause=') && l.includes(' gc=')).map(line =>
    Object.fromEntries([...line.matchAll(/([\w.]+)=(\S+)/g)].map(m => [m[1] as string, m[2] as string])))
}

const redis = await startTestRedis({ aof: true })
const admin = new Redis(redis.url)
const sink = await startChild('bench/sink-server.ts')
const dir = mkdtempSync(join(tmpdir(), 'zr-gc-'))
const profilePath = join(dir, 'alloc.heapprofile')
const wrk = findWrk()
if (wrk === undefined) throw new Error('wrk is missing: sudo apt-get install wrk (or set WRK_PATH)')
let web: RelayProcess | undefined
try {
  web = await startRelayProcess('web', {
    redisUrl: redis.url,
    recallBaseUrl: sink.url,
    env: { ...relayEnv, ALLOC_PROFILE_PATH: profilePath },
    nodeArgs: mode === 'alloc' ? ['--import', './bench/alloc-sampler.ts'] : ['--trace-gc-nvp']
  })
  const url = `${web.url}/zoom/webhook`
  // Warm-up: the JIT and the heap's sizes settle before anything is counted.
  await runSignedLoad({ wrk, url, secret: SECRET, durationS: 3, connections: CONNECTIONS })
  await admin.config('SET', 'slowlog-log-slower-than', '1000')
  await admin.slowlog('RESET')
  await admin.config('SET', 'latency-monitor-threshold', '1')
  await admin.call('LATENCY', 'RESET')
  const outputFrom = web.output().length
  // Scraping also resets prom-client's event-loop delay histogram: the next scrape covers the load alone.
  const roundsBefore = await roundTotals(web.metricsUrl)
  if (mode === 'alloc') web.child.kill('SIGUSR2')
  const threads = { 'web main thread': web.child.pid as number, Redis: await redisPid(admin) }
  const schedBefore = Object.entries(threads).map(([name, pid]) => ({ name, pid, ...schedstat(pid) }))
  const load: WrkReport = await runSignedLoad({ wrk, url, secret: SECRET, durationS: SECONDS, connections: CONNECTIONS, rate })
  const requests = load.requests
  const waits = schedBefore.map(b => {
    const a = schedstat(b.pid)
    const perSecond = (ns: number): string => `${(ns / 1e6 / SECONDS).toFixed(0)} ms/s`
    return `${b.name} ran ${perSecond(a.ranNs - b.ranNs)} and waited ${perSecond(a.waitedNs - b.waitedNs)}`
  })
  const perRequest = (bytes: number): string => `${Math.round(bytes / requests)} B`
  process.stdout.write(`web role, ${Math.round(load.rps)} req/s offered ${rate} (${CONNECTIONS} connections): latency p50 ${load.p50}, p90 ${load.p90}, p99 ${load.p99}, max ${load.max} ms\n`)
  // One scrape: each one resets the histogram behind these.
  const metrics = await (await fetch(`${web.metricsUrl}/metrics`)).text()
  const lagMs = (quantile: string): string => (1000 * (sumMetric(metrics, `nodejs_eventloop_lag_${quantile}_seconds`) ?? NaN)).toFixed(1)
  process.stdout.write(`event-loop delay (its own metrics; prom-client samples every 10 ms and counts the interval in): p50 ${lagMs('p50')}, p99 ${lagMs('p99')}, max ${lagMs('max')} ms\n`)
  process.stdout.write(`waiting for a core (schedstat, over the ${SECONDS} s): ${waits.join('; ')}\n`)
  process.stdout.write(`group-commit rounds: ${describeRounds(roundsBefore, await roundTotals(web.metricsUrl, metrics))}\n`)
  if (mode === 'alloc') {
    web.child.kill('SIGUSR2')
    for (let waited = 0; !existsSync(profilePath) && waited < 10_000; waited += 50) await sleep(50)
    interface Node { callFrame: { functionName: string, url: string, lineNumber: number }, selfSize: number, children: Node[] }
    const head = (JSON.parse(readFileSync(profilePath, 'utf8')) as { head: Node }).head
    const self = new Map<string, number>()
    const inclusive = new Map<string, number>()
    // Inclusive sizes count a function once per stack, however deep it recurses.
    const walk = (node: Node, stack: Set<string>): number => {
      const frame = node.callFrame
      const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${frame.lineNumber + 1}`
      self.set(name, (self.get(name) ?? 0) + node.selfSize)
      const inner = new Set(stack).add(name)
      let size = node.selfSize
      for (const child of node.children) size += walk(child, inner)
      if (!stack.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + size)
      return size
    }
    const total = walk(head, new Set())
    process.stdout.write(`allocated ${perRequest(total)} per request (sampled every 2 KB)\nmost allocated by the function itself, per request:\n`)
    for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${perRequest(bytes).padStart(8)}  ${name}\n`)
    process.stdout.write('most allocated by the function and what it calls, per request:\n')
    for (const [name, bytes] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(`${perRequest(bytes).padStart(8)}  ${name}\n`)
  } else {
    const events = gcEvents(web.output().slice(outputFrom))
    const num = (e: GcEvent, key: string): number => Number(e[key] ?? 0)
    const allocated = events.reduce((sum, e) => sum + num(e, 'allocated'), 0)
    process.stdout.write(`allocated ${perRequest(allocated)} per request\n`)
    for (const [kind, label] of [['s', 'scavenges'], ['ms', 'full collections (mark-compact)']] as const) {
      const of = events.filter(e => e.gc === kind)
      if (of.length === 0) { process.stdout.write(`${label}: none\n`); continue }
      const pauses = of.map(e => num(e, 'pause')).sort((a, b) => a - b)
      const survived = of.map(e => num(e, kind === 's' ? 'new_space_survived' : 'total_size_after') / 1024)
      process.stdout.write(`${label}: ${of.length}, pause median ${median(pauses).toFixed(1)} ms, longest ${pauses.slice(-5).reverse().map(p => p.toFixed(1)).join(', ')} ms, ` +
        `${pauses.filter(p => p > 4).length} over 4 ms, ${pauses.reduce((a, b) => a + b, 0).toFixed(0)} ms in all; ` +
        `${kind === 's' ? 'survived' : 'heap after'} median ${median(survived).toFixed(0)} KiB` +
        (kind === 's' ? `, of which the parallel phase ${median(of.map(e => num(e, 'scavenge.parallel'))).toFixed(1)} ms median` : '') + '\n')
    }
    const slow = await admin.slowlog('GET', 1000) as Array<[number, number, number, string[]]>
    const micros = slow.map(e => e[2]).sort((a, b) => b - a)
    process.stdout.write(`Redis commands over 1 ms: ${slow.length}${slow.length > 0 ? `, longest ${micros.slice(0, 5).map(m => (m / 1000).toFixed(1)).join(', ')} ms (${[...new Set(slow.map(e => String(e[3][0]).toLowerCase()))].join(', ')})` : ''}\n`)
    // Redis' own latency monitor: besides slow commands, the AOF's write(2) and fsync waits, which the slowlog does not see.
    const latest = await admin.call('LATENCY', 'LATEST') as Array<[string, number, number, number]>
    const monitored = await Promise.all(latest.map(async ([event, , , maxMs]) => {
      const history = await admin.call('LATENCY', 'HISTORY', event) as Array<[number, number]>
      return `${event}: ${history.length} of the seconds, worst ${maxMs} ms`
    }))
    process.stdout.write(`Redis latency events over 1 ms (one sample per second at most): ${monitored.length > 0 ? monitored.join('; ') : 'none'}\n`)
  }
} finally {
  await web?.stop()
  sink.child.kill('SIGTERM')
  admin.disconnect()
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
}
