import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { startTestRedis, type TestRedis } from '../test/helpers/redis-server.js'
import { startRelayProcess, type RelayProcess } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'
import { startChild } from './children.js'

/**
 * `npm run bench`: our web role and workers side by side with the limits of
 * this stack, measured in one process tree on this machine, with ratios and
 * `target met` / `target missed` lines. Writes bench-results.json.
 * Ceiling and ours alternate for BENCH_ROUNDS rounds (default 3) and the
 * ratios are of the medians, so a drift of the shared machine during the run
 * weighs on both sides. Sizes: BENCH_SECONDS (per ingest load, default 8),
 * BENCH_RELAY_EVENTS (per relay round, 40000), BENCH_BACKLOG (100000).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000)
const RELAY_EVENTS = Number(process.env.BENCH_RELAY_EVENTS ?? 40_000)
const CONNECTIONS = 64
const ROOT = new URL('..', import.meta.url).pathname

interface LoadResult { rps: number, p50: number, p99: number, max: number, ok: number, errors: number, non2xx: number, responseTimes: number[] }

/** Signed, unique ~1 KB bodies at 64 connections; each 2xx is counted. */
async function load (url: string, opts: { seconds?: number, amount?: number, first: number, padTo?: number, track?: boolean }): Promise<LoadResult> {
  let n = opts.first
  let ok = 0
  const responseTimes: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url,
      connections: CONNECTIONS,
      ...(opts.amount === undefined ? { duration: opts.seconds ?? SECONDS } : { amount: opts.amount }),
      requests: [{
        method: 'POST',
        setupRequest: req => {
          const body = meetingCreatedBody(n++, opts.padTo)
          return { ...req, body, headers: signedHeaders(SECRET, body) }
        }
      }]
    }, (err, res) => { if (err !== null && err !== undefined) reject(err); else resolve(res) })
    instance.on('response', (_client: unknown, status: number) => {
      if (status >= 200 && status < 300) ok++
      if (opts.track === true) responseTimes.push(performance.now())
    })
  })
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, ok, errors: result.errors + result.timeouts, non2xx: result.non2xx, responseTimes }
}

async function runToEnd (script: string, args: string[]): Promise<string> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise(resolve => proc.once('exit', resolve))
  return out
}

async function sinkStats (sinkUrl: string): Promise<{ count: number, first: number, last: number }> {
  return await (await fetch(`${sinkUrl}/stats`)).json() as { count: number, first: number, last: number }
}

async function waitForSink (sinkUrl: string, count: number, timeoutMs = 300_000): Promise<{ count: number, first: number, last: number }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const stats = await sinkStats(sinkUrl)
    if (stats.count >= count || Date.now() > deadline) return stats
    await sleep(100)
  }
}

/** Events stored for Recall and not yet delivered: its stream (web role alone: everything stored). */
async function queued (redis: Redis): Promise<number> {
  return await redis.xlen('zoom-relay:{default}:events:recall')
}

async function usedMemory (redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 'NaN')
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** The median of each figure over the rounds. */
function medianRun (runs: LoadResult[]): Pick<LoadResult, 'rps' | 'p50' | 'p99' | 'max'> {
  return { rps: median(runs.map(r => r.rps)), p50: median(runs.map(r => r.p50)), p99: median(runs.map(r => r.p99)), max: median(runs.map(r => r.max)) }
}

const brief = (r: LoadResult): Omit<LoadResult, 'responseTimes'> => ({ rps: r.rps, p50: r.p50, p99: r.p99, max: r.max, ok: r.ok, errors: r.errors, non2xx: r.non2xx })

/** Deliveries per second at the sink, from the first to the last. */
function sinkRate (stats: { count: number, first: number, last: number }): number {
  return stats.last > stats.first ? stats.count / ((stats.last - stats.first) / 1000) : 0
}

function rate (times: number[], from: number, to: number): number {
  const slice = times.slice(from, to)
  const first = slice[0] ?? 0
  const last = slice.at(-1) ?? 0
  return last > first ? (slice.length - 1) / ((last - first) / 1000) : 0
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits)
const lines: string[] = []
const print = (line: string): void => { lines.push(line); process.stdout.write(`${line}\n`) }
const targets: Array<{ name: string, met: boolean, detail: string }> = []
const target = (name: string, met: boolean, detail: string): void => {
  targets.push({ name, met, detail })
  print(`${met ? 'target met   ' : 'target missed'}  ${name}: ${detail}`)
}

const redis: TestRedis = await startTestRedis({ aof: true })
const admin = new Redis(redis.url)
const sink = await startChild('bench/sink-server.ts')
const relayEnv = { DELIVERY_CONCURRENCY: String(CONNECTIONS), LOG_LEVEL: 'warn' }
const started: RelayProcess[] = []
const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, at: new Date().toISOString() }
try {
  print(`zoom-webhook-relay benchmark — ${CONNECTIONS} connections, ${SECONDS} s per ingest load, ${ROUNDS} rounds, ~1 KB signed meeting.created bodies, Redis AOF everysec`)

  // 1 and 2. Ingest: the bare route and our web role (no workers: every acked event must be in Redis), alternating.
  const ceilingServer = await startChild('bench/ceiling-server.ts')
  const web = await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.url, env: relayEnv })
  started.push(web)
  await load(`${ceilingServer.url}/zoom/webhook`, { seconds: 2, first: 0 })
  await load(`${web.url}/zoom/webhook`, { seconds: 2, first: 10_000_000 })
  const ceilings: LoadResult[] = []
  const ours: Array<LoadResult & { stored: number }> = []
  for (let round = 0; round < ROUNDS; round++) {
    ceilings.push(await load(`${ceilingServer.url}/zoom/webhook`, { first: 1_000_000 * round }))
    await admin.flushall()
    const result = await load(`${web.url}/zoom/webhook`, { first: 20_000_000 + 1_000_000 * round })
    ours.push({ ...result, stored: await queued(admin) })
  }
  ceilingServer.child.kill('SIGTERM')
  const ceiling = medianRun(ceilings)
  const mine = medianRun(ours)
  const ingestRatio = ceiling.rps === 0 ? 0 : mine.rps / ceiling.rps
  print('')
  print(`phase (median of ${ROUNDS} alternating rounds)  req/s   p50 ms   p99 ms   max ms`)
  print(`1 ingest ceiling (bare route)  ${fmt(ceiling.rps).padStart(8)}  ${fmt(ceiling.p50, 1).padStart(7)}  ${fmt(ceiling.p99, 1).padStart(7)}  ${fmt(ceiling.max, 1).padStart(7)}   rounds ${ceilings.map(r => fmt(r.rps)).join(', ')}`)
  print(`2 our web role (verify+store)  ${fmt(mine.rps).padStart(8)}  ${fmt(mine.p50, 1).padStart(7)}  ${fmt(mine.p99, 1).padStart(7)}  ${fmt(mine.max, 1).padStart(7)}   rounds ${ours.map(r => fmt(r.rps)).join(', ')}`)
  print(`  ingest ratio ${fmt(ingestRatio, 2)} (per round ${ours.map((r, i) => fmt(r.rps / (ceilings[i]?.rps ?? Infinity), 2)).join(', ')}); acked ${ours.map(r => r.ok).join(', ')}, stored ${ours.map(r => r.stored).join(', ')}`)
  results.ingest = { ceiling: ceilings.map(brief), ours: ours.map(brief), ratio: ingestRatio }

  // 3 and 4. Relay: plain undici to the sink, then our workers draining a pre-filled stream of as many events, alternating.
  const plainRates: number[] = []
  const workerRates: number[] = []
  const drains: Array<{ queued: number, delivered: number }> = []
  for (let round = 0; round < ROUNDS; round++) {
    await fetch(`${sink.url}/reset`, { method: 'POST' })
    await runToEnd('bench/relay-ceiling.ts', [sink.url, String(RELAY_EVENTS), String(CONNECTIONS), SECRET])
    plainRates.push(sinkRate(await sinkStats(sink.url)))
    await admin.flushall()
    await load(`${web.url}/zoom/webhook`, { amount: RELAY_EVENTS, first: 30_000_000 + 1_000_000 * round })
    const prefilled = await queued(admin)
    await fetch(`${sink.url}/reset`, { method: 'POST' })
    const worker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env: relayEnv })
    started.push(worker)
    const drained = await waitForSink(sink.url, prefilled)
    workerRates.push(sinkRate(drained))
    drains.push({ queued: prefilled, delivered: drained.count })
    await worker.stop()
  }
  const plainRate = median(plainRates)
  const workerRate = median(workerRates)
  const relayRatio = plainRate === 0 ? 0 : workerRate / plainRate
  print(`3 relay ceiling (plain undici) ${fmt(plainRate).padStart(8)} deliveries/s   rounds ${plainRates.map(r => fmt(r)).join(', ')} (${RELAY_EVENTS} events each)`)
  print(`4 our workers (stream → sink)  ${fmt(workerRate).padStart(8)} deliveries/s   rounds ${workerRates.map(r => fmt(r)).join(', ')}; delivered ${drains.map(d => `${d.delivered}/${d.queued}`).join(', ')}`)
  print(`  relay ratio ${fmt(relayRatio, 2)} (per round ${workerRates.map((r, i) => fmt(r / (plainRates[i] ?? Infinity), 2)).join(', ')})`)
  results.relay = { ceilingPerSecond: plainRates, oursPerSecond: workerRates, ratio: relayRatio, drains }

  // 5. Backlog growth with the workers stopped (Recall down).
  await admin.flushall()
  const memoryBefore = await usedMemory(admin)
  const backlog = await load(`${web.url}/zoom/webhook`, { amount: BACKLOG, first: 40_000_000, track: true })
  const backlogStored = await queued(admin)
  const memoryPerEvent = (await usedMemory(admin) - memoryBefore) / backlogStored
  const tenth = Math.floor(backlog.responseTimes.length / 10)
  const startRate = rate(backlog.responseTimes, 0, tenth)
  const endRate = rate(backlog.responseTimes, backlog.responseTimes.length - tenth, backlog.responseTimes.length)
  const webRss = Number(/^process_resident_memory_bytes (\d+)/m.exec(await (await fetch(`${web.metricsUrl}/metrics`)).text())?.[1] ?? 'NaN')
  await admin.flushall()
  const before64 = await usedMemory(admin)
  const big = await load(`${web.url}/zoom/webhook`, { amount: 2000, first: 50_000_000, padTo: 64 * 1024 })
  const bigStored = await queued(admin)
  const memoryPer64 = (await usedMemory(admin) - before64) / bigStored
  print(`5 backlog of ${backlogStored} (workers stopped): ${fmt(startRate)} req/s in the first tenth, ${fmt(endRate)} in the last (${fmt((endRate / startRate - 1) * 100, 1)} %); Redis ${fmt(memoryPerEvent)} B per 1 KB event, ${fmt(memoryPer64)} B per 64 KB event (${big.ok} acked, ${bigStored} stored); web RSS ${fmt(webRss / 2 ** 20)} MiB`)
  results.backlog = { acked: backlog.ok, stored: backlogStored, startRate, endRate, memoryPerEvent, memoryPer64KiBEvent: memoryPer64, webRssBytes: webRss, acked64: big.ok, stored64: bigStored }

  // 6. Ack latency under a burst while the destination is down.
  await admin.flushall()
  await fetch(`${sink.url}/mode/down`, { method: 'POST' })
  const downWorker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { ...relayEnv, RETRY_BASE_DELAY_MS: '200' } })
  started.push(downWorker)
  const memoryBeforeBurst = await usedMemory(admin)
  const burst = await load(`${web.url}/zoom/webhook`, { seconds: SECONDS, first: 60_000_000 })
  // Every event's first attempt failed: once the streams are empty, each one is a retry job.
  const handedOver = Date.now() + 120_000
  while (await queued(admin) > 0 && Date.now() < handedOver) await sleep(200)
  const memoryPerRetry = (await usedMemory(admin) - memoryBeforeBurst) / burst.ok
  print(`6 burst while the destination is down: ${fmt(burst.rps)} req/s, ack p99 ${fmt(burst.p99, 1)} ms, max ${fmt(burst.max, 1)} ms (${burst.ok} acked, ${burst.non2xx} non-2xx, ${burst.errors} errors); Redis ${fmt(memoryPerRetry)} B per event waiting as a retry job`)
  results.burst = { ...brief(burst), memoryPerRetryJob: memoryPerRetry }
  await fetch(`${sink.url}/mode/up`, { method: 'POST' })

  print('')
  // More may be stored than acked (requests in flight when a timed phase ends); never fewer.
  const lost = ours.reduce((sum, r) => sum + Math.max(0, r.ok - r.stored), 0) + drains.reduce((sum, d) => sum + Math.max(0, d.queued - d.delivered), 0) +
    Math.max(0, backlog.ok - backlogStored) + Math.max(0, big.ok - bigStored)
  target('ingest ratio ≥ 0.60 with p99 ack ≤ 15 ms', ingestRatio >= 0.6 && mine.p99 <= 15, `ratio ${fmt(ingestRatio, 2)}, p99 ${fmt(mine.p99, 1)} ms`)
  target('relay ratio ≥ 0.60', relayRatio >= 0.6, `ratio ${fmt(relayRatio, 2)}`)
  target('Redis memory per queued 1 KB event ≤ 2.5 KB', memoryPerEvent <= 2560, `${fmt(memoryPerEvent)} B`)
  target('backlog ingest rate degrades ≤ 10 %', endRate >= startRate * 0.9, `${fmt(startRate)} → ${fmt(endRate)} req/s`)
  target('ack p99 under a burst with the destination down far below 3 s', burst.p99 < 300, `p99 ${fmt(burst.p99, 1)} ms, max ${fmt(burst.max, 1)} ms`)
  target('no event lost in the benchmark', lost === 0, `acked − stored/delivered = ${lost}`)
  results.targets = targets
  results.lines = lines
  mkdirSync(`${ROOT}.data`, { recursive: true })
  writeFileSync(`${ROOT}bench-results.json`, `${JSON.stringify(results, null, 2)}\n`)
  print('wrote bench-results.json')
} finally {
  for (const p of started) await p.stop()
  sink.child.kill('SIGTERM')
  admin.disconnect()
  await redis.stop()
}
