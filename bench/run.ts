import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startTestRedis, type TestRedis } from '../test/helpers/redis-server.js'
import { residentBytes } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { startChild } from './children.js'
import { redisPid, withRunCpu, type RunCpu } from './proc-cpu.js'
import { parseRelaySettings, startCompiledRelay, type BenchRelay } from './relay-process.js'
import { describeRounds, roundTotals } from './round-metrics.js'
import { median, ratioOfMedians, tenthRates, type CountSample } from './stats.js'
import { formatVerdict, runProblems, verdict, type Verdict } from './targets.js'
import { findWrk, runWrk, type WrkOptions } from './wrk.js'
import type { WrkReport } from './wrk-report.js'
import { writeRequestFiles } from './wrk-requests.js'

/**
 * `npm run bench`: the relay, compiled and with its defaults, next to a bare
 * Fastify route, under load from wrk in its own process (signed, unique
 * ~1 KB bodies). Prints each target with its figure and met/missed, and
 * writes bench-results.json. Knobs (docs/performance.md): BENCH_DURATION_S,
 * BENCH_ROUNDS, BENCH_BACKLOG, BENCH_RELAY_EVENTS, BENCH_PACED_RATE,
 * BENCH_PHASES (web,paced,all,down,fanout,relay,backlog,burst,outage).
 */
const ROOT = new URL('..', import.meta.url).pathname
const number = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`${name} must be a positive number, got "${process.env[name] ?? ''}".\n`)
    process.exit(78)
  }
  return value
}
const DURATION_S = number('BENCH_DURATION_S', 10)
const ROUNDS = Math.round(number('BENCH_ROUNDS', 3))
const BACKLOG = Math.round(number('BENCH_BACKLOG', 100_000))
const RELAY_EVENTS = Math.round(number('BENCH_RELAY_EVENTS', 40_000))
const PACED_RATE = number('BENCH_PACED_RATE', 5000)
const ALL_PHASES = ['web', 'paced', 'all', 'down', 'fanout', 'relay', 'backlog', 'burst', 'outage'] as const
type Phase = typeof ALL_PHASES[number]
const PHASES = new Set((process.env.BENCH_PHASES ?? ALL_PHASES.join(',')).split(',').map(p => p.trim()).filter(Boolean))
for (const p of PHASES) {
  if (!(ALL_PHASES as readonly string[]).includes(p)) {
    process.stderr.write(`BENCH_PHASES: "${p}" is not one of ${ALL_PHASES.join(', ')}.\n`)
    process.exit(78)
  }
}
const on = (phase: Phase): boolean => PHASES.has(phase)
const THREADS = 2
const CONNECTIONS = 64
const PACED_CONNECTIONS = 26
const WARMUP_S = 3
/** Unique bodies per run of one of our roles: the rate it may reach times the duration, with room (warm-up rates are low). */
const MARGIN = 2
/**
 * `BENCH_RELAY_ENV=VAR=value,…`: settings given to every relay the bench
 * starts, to measure what a setting costs (e.g. EVENT_BODY_COMPRESSION=off);
 * the output's first line names them. Unset: the relay's defaults.
 */
let RELAY_ENV: Record<string, string> = {}
try {
  RELAY_ENV = parseRelaySettings(process.env.BENCH_RELAY_ENV ?? '')
} catch (err) {
  process.stderr.write(`BENCH_RELAY_ENV: ${(err as Error).message}.\n`)
  process.exit(78)
}
const RELAY_SETTINGS = Object.keys(RELAY_ENV).length === 0 ? 'default settings' : `default settings but ${Object.entries(RELAY_ENV).map(([k, v]) => `${k}=${v}`).join(', ')}`

const wrk = findWrk()
if (wrk === undefined) {
  process.stderr.write('npm run bench needs wrk (https://github.com/wg/wrk) for its load: `sudo apt-get install wrk` on Debian/Ubuntu, or set WRK_PATH to its binary.\n')
  process.exit(1)
}
process.stdout.write('building (npm run build): the relay runs compiled, as users run it\n')
if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
  process.stderr.write('npm run build failed\n')
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'zr-bench-'))
const lines: string[] = []
const print = (line: string): void => { lines.push(line); process.stdout.write(`${line}\n`) }
const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
/**
 * Prints the CPU per request of a comparison's runs, each part's median, and
 * returns them: steadier than the req/s on a shared machine, and what the
 * saturated ratio comes down to when both sides fill its cores.
 */
function cpuPerRequest (bareRuns: RunCpu[], oursRuns: RunCpu[]): { bare: RunCpu, ours: RunCpu } {
  const medianCpu = (runs: RunCpu[]): RunCpu => ({ server: median(runs.map(c => c.server)), redis: median(runs.map(c => c.redis)), wrk: median(runs.map(c => c.wrk)) })
  const total = (c: RunCpu): number => c.server + c.redis + c.wrk
  const bare = medianCpu(bareRuns)
  const ours = medianCpu(oursRuns)
  print(`  CPU per request during the runs (medians): bare route ${fmt(total(bare))} µs (server ${fmt(bare.server)}, wrk ${fmt(bare.wrk)}); ours ${fmt(total(ours))} µs (relay ${fmt(ours.server)}, Redis ${fmt(ours.redis)}, wrk ${fmt(ours.wrk)}); bare / ours ${fmt(total(bare) / total(ours), 2)}`)
  return { bare, ours }
}
const verdicts: Verdict[] = []
const target = (v: Verdict): void => { verdicts.push(v) }
const results: Record<string, unknown> = {
  node: process.version,
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  at: new Date().toISOString(),
  settings: { durationS: DURATION_S, rounds: ROUNDS, backlog: BACKLOG, relayEvents: RELAY_EVENTS, pacedRate: PACED_RATE, phases: [...PHASES], threads: THREADS, connections: CONNECTIONS, pacedConnections: PACED_CONNECTIONS }
}

let nextBody = 0
let nextFiles = 0
/** Signed request files for one wrk run; bodies never repeat within the bench run. */
function requestFiles (count: number, padTo?: number): string {
  const prefix = join(dir, `requests-${nextFiles++}`)
  writeRequestFiles(prefix, THREADS, { secret: SECRET, first: nextBody, count: Math.ceil(count), padTo })
  nextBody += Math.ceil(count)
  return prefix
}
const dropFiles = (prefix: string): void => { for (let t = 0; t < THREADS; t++) rmSync(`${prefix}.${t}`, { force: true }) }
const load = async (url: string, files: string, opts: Partial<WrkOptions> = {}): Promise<WrkReport> =>
  await runWrk({ wrk, url, files, threads: THREADS, connections: CONNECTIONS, durationS: DURATION_S, ...opts })
const acked = (r: WrkReport): number => r.requests - r.non2xx
const row = (label: string, r: WrkReport): string =>
  `${label.padEnd(34)}${fmt(r.rps).padStart(8)}  ${fmt(r.p50, 2).padStart(7)}  ${fmt(r.p99, 2).padStart(7)}  ${fmt(r.max, 1).padStart(7)}  ${String(r.non2xx).padStart(6)}  ${String(r.socketErrors).padStart(6)}`
const header = (title: string): void => {
  print('')
  print(title)
  print(`${''.padEnd(34)}${'req/s'.padStart(8)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'max ms'.padStart(7)}  ${'non2xx'.padStart(6)}  ${'sockerr'.padStart(6)}`)
}

/**
 * Empties a Redis between runs, all but the relay's data marker: a FLUSHALL
 * would make the relay report lost data (and re-write its marker) each time.
 */
async function clear (redis: Redis): Promise<void> {
  const keys = (await redis.keys('*')).filter(k => !k.endsWith(':data-marker'))
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
}
async function usedMemory (redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 'NaN')
}
/** Redis' AOF rewrites since it started, and whether one is running now (INFO persistence). */
async function aofRewrites (redis: Redis): Promise<{ count: number, running: boolean }> {
  const info = await redis.info('persistence')
  return { count: Number(/aof_rewrites:(\d+)/.exec(info)?.[1] ?? 'NaN'), running: /aof_rewrite_in_progress:1/.test(info) }
}
/**
 * Destination stream names per Redis, found once: `KEYS` walks every key (a record per event), so
 * calling it every 100 ms while 100,000 events pile up held Redis longer and longer and made the
 * backlog's ingest rate fall. The names never change; `clear` deletes the streams, and XLEN of a
 * missing key is 0.
 */
const streamNames = new WeakMap<Redis, string[]>()
/** Entries of each destination stream (`<prefix>:{app}:events:<destination>`). */
async function streamLengths (redis: Redis): Promise<number[]> {
  let keys = streamNames.get(redis) ?? []
  if (keys.length === 0) {
    keys = await redis.keys('*:events:*')
    streamNames.set(redis, keys)
  }
  return await Promise.all(keys.map(async k => await redis.xlen(k)))
}
async function storedEvents (redis: Redis): Promise<number> {
  const lengths = await streamLengths(redis)
  return lengths.length === 0 ? 0 : Math.min(...lengths)
}
async function sinkStats (sinkUrl: string): Promise<{ count: number, unique: number, first: number, last: number, maxInFlight: number }> {
  return await (await fetch(`${sinkUrl}/stats`)).json() as { count: number, unique: number, first: number, last: number, maxInFlight: number }
}
/** Polls `read` every 100 ms until it reaches `count` (or `timeoutMs`), keeping the samples. */
async function sampleUntil (read: () => Promise<number>, count: number, timeoutMs: number, samples: CountSample[] = []): Promise<CountSample[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = await read()
    samples.push({ atMs: performance.now(), count: c })
    if (c >= count || Date.now() > deadline) return samples
    await sleep(100)
  }
}

interface Redises { web?: TestRedis, all?: TestRedis, down?: TestRedis, fanout?: TestRedis, outage?: TestRedis }
const redises: Redises = {}
const clients: Redis[] = []
const relays: BenchRelay[] = []
const children: Array<{ child: { kill: (s: NodeJS.Signals) => boolean } }> = []
async function redisFor (name: keyof Redises): Promise<{ server: TestRedis, client: Redis }> {
  const server = redises[name] ?? await startTestRedis({ aof: true })
  redises[name] = server
  const client = new Redis(server.url)
  clients.push(client)
  return { server, client }
}
async function relay (role: 'web' | 'worker' | 'all', redisUrl: string, sinkUrl: string, label: string, env: Record<string, string> = {}): Promise<BenchRelay> {
  const r = await startCompiledRelay(role, { redisUrl, recallBaseUrl: sinkUrl, logFile: join(dir, `${label}.log`), env: { ...RELAY_ENV, ...env } })
  relays.push(r)
  return r
}
async function stopRelay (r: BenchRelay): Promise<void> {
  await r.stop()
  relays.splice(relays.indexOf(r), 1)
}

let cleaned = false
/** Stops everything the bench started and removes its files; once. */
async function cleanup (): Promise<void> {
  if (cleaned) return
  cleaned = true
  for (const r of [...relays]) await r.stop()
  for (const c of children) c.child.kill('SIGTERM')
  for (const c of clients) c.disconnect()
  for (const s of Object.values(redises) as TestRedis[]) await s.stop()
  rmSync(dir, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void cleanup().finally(() => process.exit(130)) })
}

let exitCode = 0
try {
  print(`zoom-webhook-relay benchmark — Node ${process.version}, ${cpus().length} CPUs; load: wrk ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION_S} s per run, ${ROUNDS} alternating rounds; signed unique meeting.created bodies of ~1,060 bytes; Redis AOF everysec, noeviction; relay compiled, ${RELAY_SETTINGS}`)
  const sink = await startChild('bench/sink-server.ts')
  children.push(sink)
  const bare = await startChild('bench/ceiling-server.ts')
  children.push(bare)
  const bareUrl = `${bare.url}/zoom/webhook`
  const barePid = bare.child.pid ?? 0

  // Our roles under saturation, each run right after a bare-route run with the same files.
  interface SideSpec {
    label: string
    url: string
    /** The relay process and its Redis server: their CPU per request is ours. */
    pids: { relay: number, redis: number }
    before?: () => Promise<void>
    /** Checks after a run of ours (stored, delivered); returns what went wrong. */
    after: (r: WrkReport) => Promise<string[]>
    /** The target line, from the ratio of medians and the p99s. */
    judge: (ratio: number, p99: string, problems: string[]) => void
  }
  interface Side extends SideSpec {
    bare: WrkReport[]
    ours: WrkReport[]
    bareCpu: RunCpu[]
    oursCpu: RunCpu[]
    problems: string[]
    expected: number
  }
  const newSide = (spec: SideSpec): Side => ({ ...spec, bare: [], ours: [], bareCpu: [], oursCpu: [], problems: [], expected: 0 })
  const sides: Side[] = []
  /** The relays of the saturated comparisons other than the web role's: stopped after them, so that no later phase shares the CPU with their timers, probes and sweeps. */
  const comparedOnly: BenchRelay[] = []
  let web: BenchRelay | undefined
  let webRedis: Redis | undefined
  if (on('web') || on('paced') || on('relay') || on('backlog') || on('burst')) {
    const { server, client } = await redisFor('web')
    webRedis = client
    web = await relay('web', server.url, sink.url, 'web')
  }
  if (on('web') && web !== undefined && webRedis !== undefined) {
    const r = webRedis
    sides.push(newSide({
      label: '2 zoom-relay web',
      url: `${web.url}/zoom/webhook`,
      pids: { relay: web.pid, redis: await redisPid(r) },
      after: async report => {
        const stored = await storedEvents(r)
        await clear(r)
        return stored < acked(report) ? [`web: ${acked(report) - stored} acked events not in Redis`] : []
      },
      judge: (ratio, p99, problems) => { target(verdict('web role: ingest ratio ≥ 0.60 at saturation', ratio >= 0.6, `ratio ${fmt(ratio, 2)}, ${p99}`, problems)) }
    }))
  }
  let allDelivered = { acked: 0, unique: 0 }
  if (on('all')) {
    const { server, client } = await redisFor('all')
    const all = await relay('all', server.url, sink.url, 'all')
    comparedOnly.push(all)
    await fetch(`${sink.url}/reset`, { method: 'POST' })
    sides.push(newSide({
      label: '3 zoom-relay all',
      url: `${all.url}/zoom/webhook`,
      pids: { relay: all.pid, redis: await redisPid(client) },
      after: async report => {
        // Wait for every acked event to reach the destination before the next run.
        allDelivered.acked += acked(report)
        const samples = await sampleUntil(async () => (await sinkStats(sink.url)).unique, allDelivered.acked, 120_000)
        allDelivered = { acked: allDelivered.acked, unique: samples.at(-1)?.count ?? 0 }
        return allDelivered.unique < allDelivered.acked ? [`all: ${allDelivered.acked - allDelivered.unique} acked events not delivered within 120 s`] : []
      },
      judge: (ratio, _p99, problems) => {
        target(verdict('role all, healthy destination: ingest ratio ≥ 0.45, every acked event delivered', ratio >= 0.45 && allDelivered.unique >= allDelivered.acked,
          // wrk stops with requests in flight, uncounted; the relay may have stored them: more delivered than acked is expected.
          `ratio ${fmt(ratio, 2)}, delivered ${allDelivered.unique} distinct events for ${allDelivered.acked} acked (more: requests wrk left in flight at its end)`, problems))
      }
    }))
  }
  // Role all while the destination answers 503: what an outage costs ingest, against the web role alone.
  const downMemory: number[] = []
  if (on('down')) {
    const { server, client } = await redisFor('down')
    const downSink = await startChild('bench/sink-server.ts')
    children.push(downSink)
    await fetch(`${downSink.url}/mode/down`, { method: 'POST' })
    const down = await relay('all', server.url, downSink.url, 'down')
    comparedOnly.push(down)
    let before = 0
    const downSide: Side = newSide({
      label: '3b all, destination answering 503',
      url: `${down.url}/zoom/webhook`,
      pids: { relay: down.pid, redis: await redisPid(client) },
      before: async () => { before = await usedMemory(client) },
      after: async report => {
        // Nothing is cleared between rounds: the outage goes on, as it would, and the events keep waiting.
        if (acked(report) > 0) downMemory.push((await usedMemory(client) - before) / acked(report))
        return []
      },
      judge: (ratio, p99, problems) => {
        const perEvent = median(downMemory)
        print(`  Redis ${fmt(perEvent)} B per waiting event (per round ${downMemory.map(m => fmt(m)).join(', ')})`)
        results.downMemoryPerEvent = perEvent
        target(verdict('Redis per event waiting while the destination is down ≤ 1.6 KB', perEvent <= 1638 && downMemory.length > 0, `${fmt(perEvent)} B`, []))
        const name = 'destination down (role all): ingest ≥ 0.85 × the web role\'s, p99 ≤ 1.5 × the web role\'s'
        const webSide = sides.find(s => s.label === '2 zoom-relay web')
        if (webSide === undefined || webSide.ours.length === 0) {
          target(verdict(name, false, `needs the web phase in the same run (ratio to the bare route ${fmt(ratio, 2)}, ${p99})`, problems))
          return
        }
        // Each side's ratio to the bare rounds run right before its own, as every ratio here: the two phases run
        // minutes apart, and the shared machine's speed drifts by more than the 15 % this target allows.
        const webRatio = ratioOfMedians(webSide.ours.map(r => r.rps), webSide.bare.map(r => r.rps))
        const toWeb = ratio / webRatio
        const rawToWeb = ratioOfMedians(downSide.ours.map(r => r.rps), webSide.ours.map(r => r.rps))
        const p99ToWeb = ratioOfMedians(downSide.ours.map(r => r.p99), webSide.ours.map(r => r.p99))
        print(`  against the web role in the same run: ingest ${fmt(toWeb, 2)} × (ratios ${fmt(ratio, 2)} and ${fmt(webRatio, 2)}; req/s ${fmt(rawToWeb, 2)} ×), p99 ${fmt(p99ToWeb, 2)} ×`)
        target(verdict(name, toWeb >= 0.85 && p99ToWeb <= 1.5, `ingest ${fmt(toWeb, 2)} ×, p99 ${fmt(p99ToWeb, 2)} ×`, problems))
      }
    })
    sides.push(downSide)
  }
  const fanoutMemory: number[] = []
  if (on('fanout')) {
    const { server, client } = await redisFor('fanout')
    const config = join(dir, 'fanout.json')
    writeFileSync(config, JSON.stringify({
      apps: [{
        name: 'fanout',
        secretTokens: [SECRET],
        destinations: [
          { type: 'recall', appId: 'bench-recall', baseUrl: sink.url },
          { type: 'attendee', appId: 'zoa_bench', baseUrl: sink.url },
          { type: 'http', name: 'audit', url: `${sink.url}/audit` }
        ]
      }]
    }))
    // Role web: the events stay in their three streams, so their memory can be read.
    const fanout = await relay('web', server.url, sink.url, 'fanout', { CONFIG_FILE: config })
    comparedOnly.push(fanout)
    let before = 0
    sides.push(newSide({
      label: '4 fan-out, 3 destinations (web)',
      url: `${fanout.url}/zoom/webhook/fanout`,
      pids: { relay: fanout.pid, redis: await redisPid(client) },
      before: async () => { await clear(client); before = await usedMemory(client) },
      after: async report => {
        const lengths = await streamLengths(client)
        const stored = lengths.length === 3 ? Math.min(...lengths) : 0
        if (stored > 0) fanoutMemory.push((await usedMemory(client) - before) / stored)
        await clear(client)
        return stored < acked(report) ? [`fan-out: ${acked(report) - stored} acked events not in all three streams (${lengths.join(', ')})`] : []
      },
      judge: (ratio, _p99, problems) => {
        const perEvent = median(fanoutMemory)
        print(`  Redis ${fmt(perEvent)} B per stored 1 KB event for three destinations (per round ${fanoutMemory.map(m => fmt(m)).join(', ')})`)
        results.fanoutMemoryPerEvent = perEvent
        target(verdict('fan-out to three destinations: ingest ratio ≥ 0.50, Redis ≤ 2.0 KB per stored event', ratio >= 0.5 && perEvent <= 2048 && fanoutMemory.length > 0,
          `ratio ${fmt(ratio, 2)}, ${fmt(perEvent)} B per event`, problems))
      }
    }))
  }

  if (sides.length > 0) {
    // Warm-up (JIT, connections, Redis) and the rate each side may reach, to size its unique bodies.
    const warm = requestFiles(15_000 * WARMUP_S)
    await load(bareUrl, warm, { durationS: WARMUP_S })
    dropFiles(warm)
    for (const side of sides) {
      // Twice: the first run after start-up is the slower (cold JIT), and sized from it the
      // rounds' unique bodies ran out once the relay had warmed up.
      for (let run = 0; run < 2; run++) {
        const files = requestFiles(15_000 * WARMUP_S)
        await side.before?.()
        const report = await load(side.url, files, { durationS: WARMUP_S })
        await side.after(report)
        side.expected = report.rps
        dropFiles(files)
      }
    }
    fanoutMemory.length = 0
    if (on('all')) { allDelivered = { acked: 0, unique: 0 }; await fetch(`${sink.url}/reset`, { method: 'POST' }) }
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of sides) {
        const files = requestFiles(Math.max(side.expected, ...side.ours.map(r => r.rps)) * DURATION_S * MARGIN + 5000)
        const { report: bareRun, cpu: bareCpu } = await withRunCpu({ server: barePid }, async () => await load(bareUrl, files))
        await side.before?.()
        const { report: ours, cpu: oursCpu } = await withRunCpu({ server: side.pids.relay, redis: side.pids.redis }, async () => await load(side.url, files))
        side.problems.push(...runProblems(`bare round ${round + 1}`, bareRun), ...runProblems(`round ${round + 1}`, ours, { unique: true }), ...await side.after(ours))
        side.bare.push(bareRun)
        side.ours.push(ours)
        side.bareCpu.push(bareCpu)
        side.oursCpu.push(oursCpu)
        dropFiles(files)
      }
    }
    header(`Saturated (${CONNECTIONS} connections), median of ${ROUNDS} rounds, each after a bare-route round with the same bodies`)
    const medianRow = (label: string, runs: WrkReport[]): string => row(label, {
      ...runs[0] as WrkReport,
      rps: median(runs.map(r => r.rps)),
      p50: median(runs.map(r => r.p50)),
      p99: median(runs.map(r => r.p99)),
      max: median(runs.map(r => r.max)),
      non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
      socketErrors: runs.reduce((s, r) => s + r.socketErrors, 0)
    })
    const saturated: Record<string, unknown> = {}
    for (const side of sides) {
      const ratio = ratioOfMedians(side.ours.map(r => r.rps), side.bare.map(r => r.rps))
      print(medianRow('1 bare route, same bodies', side.bare))
      print(medianRow(side.label, side.ours))
      print(`  ratio ${fmt(ratio, 2)} (per round ${side.ours.map((r, i) => fmt(r.rps / (side.bare[i]?.rps ?? Infinity), 2)).join(', ')}); p99 ${fmt(median(side.ours.map(r => r.p99)), 1)} ms vs the bare route's ${fmt(median(side.bare.map(r => r.p99)), 1)} ms`)
      const cpu = cpuPerRequest(side.bareCpu, side.oursCpu)
      saturated[side.label] = { ratio, bare: side.bare, ours: side.ours, cpu, problems: side.problems }
      const p99 = `p99 ${fmt(median(side.ours.map(r => r.p99)), 1)} ms (bare ${fmt(median(side.bare.map(r => r.p99)), 1)} ms)`
      side.judge(ratio, p99, side.problems)
    }
    results.saturated = saturated
  }
  for (const r of comparedOnly) await stopRelay(r)

  // Paced: ~PACED_RATE req/s offered (open loop), web role vs bare route, alternating.
  if (on('paced') && web !== undefined && webRedis !== undefined) {
    const bareRuns: WrkReport[] = []
    const webRuns: WrkReport[] = []
    /** The web role's group-commit rounds in each of its runs (its metrics): Redis' share of the ack time. */
    const roundLines: string[] = []
    const problems: string[] = []
    const bareCpu: RunCpu[] = []
    const webCpu: RunCpu[] = []
    const webRedisPid = await redisPid(webRedis)
    if (!on('web')) {
      // The saturated web phase warms the role up (JIT); without it the first round would be a cold start.
      const warm = requestFiles(PACED_RATE * WARMUP_S * MARGIN + 2000)
      const warmOpts = { connections: PACED_CONNECTIONS, rate: PACED_RATE, durationS: WARMUP_S }
      await load(bareUrl, warm, warmOpts)
      await load(`${web.url}/zoom/webhook`, warm, warmOpts)
      dropFiles(warm)
      await clear(webRedis)
    }
    for (let round = 0; round < ROUNDS; round++) {
      const files = requestFiles(PACED_RATE * DURATION_S * MARGIN + 2000)
      const opts = { connections: PACED_CONNECTIONS, rate: PACED_RATE }
      const { report: b, cpu: bCpu } = await withRunCpu({ server: barePid }, async () => await load(bareUrl, files, opts))
      const roundsBefore = await roundTotals(web.metricsUrl)
      const rewritesBefore = (await aofRewrites(webRedis)).count
      const { report: w, cpu: wCpu } = await withRunCpu({ server: web.pid, redis: webRedisPid }, async () => await load(`${web.url}/zoom/webhook`, files, opts))
      bareCpu.push(bCpu)
      webCpu.push(wCpu)
      // A rewrite forks Redis and copies its pages on write for a second or two: printed beside the round to check a slow one against.
      const rewrites = (await aofRewrites(webRedis)).count - rewritesBefore
      roundLines.push(`${describeRounds(roundsBefore, await roundTotals(web.metricsUrl))}; ${rewrites} AOF rewrite${rewrites === 1 ? '' : 's'} during the run`)
      const stored = await storedEvents(webRedis)
      await clear(webRedis)
      problems.push(...runProblems(`bare round ${round + 1}`, b), ...runProblems(`round ${round + 1}`, w, { unique: true }))
      if (stored < acked(w)) problems.push(`round ${round + 1}: ${acked(w) - stored} acked events not in Redis`)
      bareRuns.push(b)
      webRuns.push(w)
      dropFiles(files)
    }
    header(`Paced: ~${PACED_RATE} req/s offered from ${PACED_CONNECTIONS} connections (open loop), ${ROUNDS} alternating rounds`)
    for (const [label, runs] of [['1 bare route', bareRuns], ['2 zoom-relay web', webRuns]] as const) {
      for (const [i, r] of runs.entries()) print(row(`${label} round ${i + 1}`, r))
    }
    for (const [i, line] of roundLines.entries()) print(`  web round ${i + 1}, group commit: ${line}`)
    const p99 = median(webRuns.map(r => r.p99))
    const bareP99 = median(bareRuns.map(r => r.p99))
    print(`  median p99: web ${fmt(p99, 2)} ms, bare ${fmt(bareP99, 2)} ms (ratio ${fmt(ratioOfMedians(webRuns.map(r => r.p99), bareRuns.map(r => r.p99)), 2)})`)
    const cpu = cpuPerRequest(bareCpu, webCpu)
    results.paced = { bare: bareRuns, web: webRuns, p99, bareP99, cpu, groupCommit: roundLines, problems }
    target(verdict(`web role: ack p99 ≤ 10 ms at ~${PACED_RATE} req/s offered`, p99 <= 10, `p99 ${fmt(p99, 2)} ms at ${fmt(median(webRuns.map(r => r.rps)))} req/s (bare ${fmt(bareP99, 2)} ms)`, problems))
  }

  // Relay: plain undici to the sink vs our worker draining as many stored events, alternating.
  if (on('relay') && web !== undefined && webRedis !== undefined) {
    const r = webRedis
    const plain: number[] = []
    const ours: number[] = []
    const problems: string[] = []
    const rateOf = (s: { count: number, first: number, last: number }): number => s.last > s.first ? s.count / ((s.last - s.first) / 1000) : 0
    for (let round = 0; round < ROUNDS; round++) {
      await fetch(`${sink.url}/reset`, { method: 'POST' })
      const ceiling = spawn(process.execPath, ['--import', 'tsx', 'bench/relay-ceiling.ts', sink.url, String(RELAY_EVENTS), String(CONNECTIONS), SECRET], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      ceiling.stdout.on('data', (d: Buffer) => { out += d.toString() })
      await new Promise(resolve => ceiling.once('exit', resolve))
      const failed = (JSON.parse(out.trim() || '{"failed":-1}') as { failed: number }).failed
      if (failed !== 0) problems.push(`plain undici round ${round + 1}: ${failed} failed`)
      plain.push(rateOf(await sinkStats(sink.url)))
      await clear(r)
      const files = requestFiles(RELAY_EVENTS + 2 * CONNECTIONS)
      const fill = await load(`${web.url}/zoom/webhook`, files, { durationS: 600, stopAfterPerThread: Math.ceil(RELAY_EVENTS / THREADS), until: async () => await storedEvents(r) >= RELAY_EVENTS })
      dropFiles(files)
      problems.push(...runProblems(`filling round ${round + 1}`, fill))
      const stored = await storedEvents(r)
      await fetch(`${sink.url}/reset`, { method: 'POST' })
      // 64 deliveries at a time, as many as plain undici has in flight.
      const worker = await relay('worker', (redises.web as TestRedis).url, sink.url, `relay-worker-${round}`, { DELIVERY_CONCURRENCY: String(CONNECTIONS) })
      const drained = await sampleUntil(async () => (await sinkStats(sink.url)).unique, stored, 300_000)
      await stopRelay(worker)
      const stats = await sinkStats(sink.url)
      if ((drained.at(-1)?.count ?? 0) < stored) problems.push(`round ${round + 1}: ${stored - (drained.at(-1)?.count ?? 0)} of ${stored} stored events not delivered`)
      ours.push(rateOf(stats))
    }
    const ratio = ratioOfMedians(ours, plain)
    print('')
    print(`5 relay, ${RELAY_EVENTS} events per round, ${CONNECTIONS} in flight: plain undici ${fmt(median(plain))} deliveries/s (rounds ${plain.map(x => fmt(x)).join(', ')}), our worker ${fmt(median(ours))} (rounds ${ours.map(x => fmt(x)).join(', ')}); ratio ${fmt(ratio, 2)}`)
    results.relay = { plain, ours, ratio, problems }
    target(verdict('relay ratio (worker vs plain undici) ≥ 0.70', ratio >= 0.7, `ratio ${fmt(ratio, 2)}`, problems))
  }

  // Backlog: BACKLOG events with no worker (Recall down), then a worker drains them.
  if (on('backlog') && web !== undefined && webRedis !== undefined) {
    const r = webRedis
    await clear(r)
    const before = await usedMemory(r)
    const files = requestFiles(BACKLOG + 2 * CONNECTIONS)
    const samples: CountSample[] = []
    // Redis rewrites its AOF as it grows (auto-aof-rewrite-percentage 100: at 64 MB, then each doubling); the
    // rewrite is a fork writing the whole data set on the same two cores, so the ingest rate is sampled beside it.
    const rewrites0 = (await aofRewrites(r)).count
    let rewritingMs = 0
    const ingest = await load(`${web.url}/zoom/webhook`, files, {
      durationS: 900,
      stopAfterPerThread: Math.ceil(BACKLOG / THREADS),
      until: async () => {
        const [c, aof] = await Promise.all([storedEvents(r), aofRewrites(r)])
        const atMs = performance.now()
        const last = samples.at(-1)
        if (aof.running && last !== undefined) rewritingMs += atMs - last.atMs
        samples.push({ atMs, count: c })
        return c >= BACKLOG
      }
    })
    const rewrites = (await aofRewrites(r)).count - rewrites0
    const ingestSeconds = ((samples.at(-1)?.atMs ?? 0) - (samples[0]?.atMs ?? 0)) / 1000
    dropFiles(files)
    const stored = await storedEvents(r)
    const perEvent = (await usedMemory(r) - before) / stored
    const ingestRates = tenthRates(samples, BACKLOG)
    const rss = await residentBytes(web.metricsUrl)
    await fetch(`${sink.url}/reset`, { method: 'POST' })
    const worker = await relay('worker', (redises.web as TestRedis).url, sink.url, 'backlog-worker')
    const drain = await sampleUntil(async () => (await sinkStats(sink.url)).unique, stored, 600_000)
    await stopRelay(worker)
    const drainRates = tenthRates(drain, stored)
    const delivered = drain.at(-1)?.count ?? 0
    await clear(r)
    const before64 = await usedMemory(r)
    const files64 = requestFiles(2000 + 32, 64 * 1024)
    // 16 connections: a memory figure, and 64 KB bodies at 64 connections time out on a busy machine.
    const big = await load(`${web.url}/zoom/webhook`, files64, { connections: 16, durationS: 300, stopAfterPerThread: 1000, until: async () => await storedEvents(r) >= 2000 })
    dropFiles(files64)
    const stored64 = await storedEvents(r)
    const per64 = (await usedMemory(r) - before64) / stored64
    await clear(r)
    const problems = [...runProblems('ingest', ingest), ...runProblems('64 KB ingest', big)]
    if (stored < acked(ingest)) problems.push(`${acked(ingest) - stored} acked events not in Redis`)
    if (delivered < stored) problems.push(`${stored - delivered} of ${stored} not delivered`)
    print('')
    print(`6 backlog of ${stored} (no worker): ingest ${fmt(ingestRates.first)} req/s in the first tenth, ${fmt(ingestRates.last)} in the last ` +
      `(${rewrites} AOF rewrites, running for ${fmt(rewritingMs / 1000, 1)} of the ${fmt(ingestSeconds, 1)} s); ` +
      `a worker then drained ${delivered} at ${fmt(drainRates.first)} deliveries/s in the first tenth, ${fmt(drainRates.last)} in the last; ` +
      `Redis ${fmt(perEvent)} B per stored 1 KB event, ${fmt(per64)} B per 64 KB event; web RSS ${fmt(rss / 2 ** 20)} MiB` +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''))
    results.backlog = { stored, ingest, ingestRates, aofRewrites: rewrites, aofRewritingMs: rewritingMs, ingestSamples: samples, delivered, drainRates, memoryPerEvent: perEvent, memoryPer64KiBEvent: per64, stored64, webRssBytes: rss, problems }
  }

  // Burst while the destination answers 503: a worker keeps failing (retry jobs), the web role keeps acking.
  if (on('burst') && web !== undefined && webRedis !== undefined) {
    const r = webRedis
    await clear(r)
    await fetch(`${sink.url}/mode/down`, { method: 'POST' })
    const worker = await relay('worker', (redises.web as TestRedis).url, sink.url, 'burst-worker')
    const saturated = results.saturated as Record<string, { ours: WrkReport[] }> | undefined
    const expected = Math.max(10_000, ...(saturated?.['2 zoom-relay web']?.ours ?? []).map(x => x.rps))
    const files = requestFiles(expected * DURATION_S * MARGIN + 5000)
    const burst = await load(`${web.url}/zoom/webhook`, files)
    dropFiles(files)
    await stopRelay(worker)
    await fetch(`${sink.url}/mode/up`, { method: 'POST' })
    await clear(r)
    const problems = runProblems('burst', burst, { unique: true })
    print('')
    print(row('7 burst, destination down (web + worker)', burst))
    results.burst = { burst, problems }
    target(verdict('burst with the destination down: ack p99 ≤ 20 ms, max ≤ 100 ms', burst.p99 <= 20 && burst.max <= 100, `p99 ${fmt(burst.p99, 1)} ms, max ${fmt(burst.max, 1)} ms at ${fmt(burst.rps)} req/s`, problems))
  }

  // An outage of BACKLOG events: role all with the destination down (its circuit opens, events wait), then back up.
  if (on('outage')) {
    const { server, client } = await redisFor('outage')
    const outageSink = await startChild('bench/sink-server.ts')
    children.push(outageSink)
    await fetch(`${outageSink.url}/mode/down`, { method: 'POST' })
    const all = await relay('all', server.url, outageSink.url, 'outage')
    const files = requestFiles(BACKLOG + 2 * CONNECTIONS)
    // Every accepted event has one entry in its app's history index: the count of what was stored, whatever waits where.
    const accepted = async (): Promise<number> => {
      let n = 0
      for (const key of await client.keys('*:history')) n += await client.xlen(key)
      return n
    }
    const ingest = await load(`${all.url}/zoom/webhook`, files, { durationS: 900, stopAfterPerThread: Math.ceil(BACKLOG / THREADS), until: async () => await accepted() >= BACKLOG })
    dropFiles(files)
    const stored = await accepted()
    await fetch(`${outageSink.url}/reset`, { method: 'POST' })
    // Each answer takes 10 ms, as a real destination's would: only then do the requests in flight add up to be counted.
    await fetch(`${outageSink.url}/delay/10`, { method: 'POST' })
    await fetch(`${outageSink.url}/mode/up`, { method: 'POST' })
    const upAt = performance.now()
    // The open circuit's next probe comes at most CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS (60 s) later; then the ramp.
    const drain = await sampleUntil(async () => (await sinkStats(outageSink.url)).unique, stored, 600_000)
    const stats = await sinkStats(outageSink.url)
    const firstAfterMs = stats.first - (performance.timeOrigin + upAt)
    const problems = runProblems('outage ingest', ingest)
    if (stats.unique < stored) problems.push(`${stored - stats.unique} of ${stored} acked events not delivered within 600 s`)
    print('')
    print(`8 outage of ${stored} acked events (role all, destination answering 503, then 200): first delivery ${fmt(firstAfterMs / 1000, 1)} s after it came back, ` +
      `all in ${fmt((drain.at(-1)?.atMs ?? upAt) / 1000 - upAt / 1000, 1)} s; ${stats.unique} distinct delivered, ${stats.count - stats.unique} twice, at most ${stats.maxInFlight} in flight (DELIVERY_CONCURRENCY 16)` +
      (problems.length > 0 ? ` — ${problems.join('; ')}` : ''))
    results.outage = { stored, delivered: stats.unique, deliveredTwice: stats.count - stats.unique, maxInFlight: stats.maxInFlight, firstAfterMs, problems }
    target(verdict('after an outage: never more than the concurrency (16) in flight, nothing lost, nothing delivered twice', stats.maxInFlight <= 16 && stats.unique >= stored && stats.count === stats.unique,
      `${stats.maxInFlight} in flight at most, ${stats.unique} of ${stored} delivered, ${stats.count - stats.unique} twice`, problems))
    await stopRelay(all)
  }

  print('')
  for (const v of verdicts) print(formatVerdict(v))
  results.targets = verdicts
  results.lines = lines
  writeFileSync(join(ROOT, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`)
  print('wrote bench-results.json')
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
  exitCode = 1
} finally {
  await cleanup()
}
process.exit(exitCode)
