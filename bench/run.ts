import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { startTestRedis, type TestRedis } from '../test/helpers/redis-server.js'
import { startRelayProcess, type RelayProcess } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/**
 * `npm run bench`: our web role and workers side by side with the limits of
 * this stack, measured in one process tree on this machine, with ratios and
 * `target met` / `target missed` lines. Writes bench-results.json.
 * Sizes: BENCH_SECONDS (per load phase, default 10), BENCH_BACKLOG (100000),
 * BENCH_RELAY_EVENTS (20000).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000)
const RELAY_EVENTS = Number(process.env.BENCH_RELAY_EVENTS ?? 20_000)
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

function child (script: string, args: string[] = []): Promise<{ child: ChildProcess, info: { url: string } }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    proc.stdout?.once('data', (d: Buffer) => { resolve({ child: proc, info: JSON.parse(d.toString().split('\n')[0] ?? '{}') as { url: string } }) })
    proc.once('exit', code => { reject(new Error(`${script} exited ${String(code)}`)) })
  })
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

async function queued (redis: Redis): Promise<number> {
  return await redis.llen('zoom-relay:{default.recall}:wait') + await redis.zcard('zoom-relay:{default.recall}:prioritized')
}

async function usedMemory (redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 'NaN')
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
const sink = await child('bench/sink-server.ts')
const relayEnv = { DELIVERY_CONCURRENCY: String(CONNECTIONS), LOG_LEVEL: 'warn' }
const started: RelayProcess[] = []
const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, at: new Date().toISOString() }
try {
  print(`zoom-webhook-relay benchmark — ${CONNECTIONS} connections, ${SECONDS} s per load phase, ~1 KB signed meeting.created bodies, Redis AOF everysec`)

  // 1. Ingest ceiling.
  const ceilingServer = await child('bench/ceiling-server.ts')
  await load(`${ceilingServer.info.url}/zoom/webhook`, { seconds: 2, first: 0 })
  const ceiling = await load(`${ceilingServer.info.url}/zoom/webhook`, { first: 0 })
  ceilingServer.child.kill('SIGTERM')

  // 2. Our web role (no workers: every acked event must be in Redis).
  const web = await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.info.url, env: relayEnv })
  started.push(web)
  await load(`${web.url}/zoom/webhook`, { seconds: 2, first: 10_000_000 })
  await admin.flushall()
  const ours = await load(`${web.url}/zoom/webhook`, { first: 20_000_000 })
  const oursStored = await queued(admin)
  const ingestRatio = ours.rps / ceiling.rps
  print('')
  print('phase                          req/s      p50 ms   p99 ms   max ms')
  print(`1 ingest ceiling (bare route)  ${fmt(ceiling.rps).padStart(8)}  ${fmt(ceiling.p50, 1).padStart(7)}  ${fmt(ceiling.p99, 1).padStart(7)}  ${fmt(ceiling.max, 1).padStart(7)}`)
  print(`2 our web role (verify+store)  ${fmt(ours.rps).padStart(8)}  ${fmt(ours.p50, 1).padStart(7)}  ${fmt(ours.p99, 1).padStart(7)}  ${fmt(ours.max, 1).padStart(7)}   ratio ${fmt(ingestRatio, 2)}; acked ${ours.ok}, stored ${oursStored}`)
  results.ingest = { ceiling, ours: { ...ours, responseTimes: undefined }, ratio: ingestRatio, acked: ours.ok, stored: oursStored }
  Object.assign(ceiling, { responseTimes: undefined })

  // 3. Relay ceiling: plain undici to the sink.
  await fetch(`${sink.info.url}/reset`, { method: 'POST' })
  await runToEnd('bench/relay-ceiling.ts', [sink.info.url, String(RELAY_EVENTS), String(CONNECTIONS), SECRET])
  const plain = await sinkStats(sink.info.url)
  const plainRate = plain.count / ((plain.last - plain.first) / 1000)

  // 4. Our workers drain a pre-filled queue of the same size.
  await admin.flushall()
  await load(`${web.url}/zoom/webhook`, { amount: RELAY_EVENTS, first: 30_000_000 })
  const prefilled = await queued(admin)
  await fetch(`${sink.info.url}/reset`, { method: 'POST' })
  const worker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.info.url, env: relayEnv })
  started.push(worker)
  const drained = await waitForSink(sink.info.url, prefilled)
  const workerRate = drained.count / ((drained.last - drained.first) / 1000)
  const relayRatio = workerRate / plainRate
  print(`3 relay ceiling (plain undici) ${fmt(plainRate).padStart(8)} deliveries/s (${plain.count} events)`)
  print(`4 our workers (queue → sink)   ${fmt(workerRate).padStart(8)} deliveries/s (${drained.count} of ${prefilled} queued)   ratio ${fmt(relayRatio, 2)}`)
  results.relay = { ceilingPerSecond: plainRate, oursPerSecond: workerRate, ratio: relayRatio, queued: prefilled, delivered: drained.count }
  await worker.stop()

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
  await fetch(`${sink.info.url}/mode/down`, { method: 'POST' })
  const downWorker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.info.url, env: { ...relayEnv, RETRY_BASE_DELAY_MS: '200' } })
  started.push(downWorker)
  const burst = await load(`${web.url}/zoom/webhook`, { seconds: SECONDS, first: 60_000_000 })
  print(`6 burst while the destination is down: ${fmt(burst.rps)} req/s, ack p99 ${fmt(burst.p99, 1)} ms, max ${fmt(burst.max, 1)} ms (${burst.ok} acked, ${burst.non2xx} non-2xx, ${burst.errors} errors)`)
  results.burst = { ...burst, responseTimes: undefined }
  await fetch(`${sink.info.url}/mode/up`, { method: 'POST' })

  print('')
  // More may be stored than acked (requests in flight when a timed phase ends); never fewer.
  const lost = Math.max(0, ours.ok - oursStored) + Math.max(0, prefilled - drained.count) + Math.max(0, backlog.ok - backlogStored) + Math.max(0, big.ok - bigStored)
  target('ingest ratio ≥ 0.60 with p99 ack ≤ 15 ms', ingestRatio >= 0.6 && ours.p99 <= 15, `ratio ${fmt(ingestRatio, 2)}, p99 ${fmt(ours.p99, 1)} ms`)
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
