import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startTestRedis } from '../test/helpers/redis-server.js'
import { startRelayProcess } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { startChild, storeThroughWeb } from './children.js'
import { cpuMicros, mainThreadCpuMicros, redisPid, withRunCpu } from './proc-cpu.js'
import { parseRelaySettings } from './relay-process.js'
import { findWrk, runSignedLoad } from './wrk.js'
import type { WrkReport } from './wrk-report.js'

/**
 * `node --import tsx bench/cpu-cost.ts web|ceiling|worker [VAR=value,…]`: CPU
 * time per event of every process involved, from /proc (all threads), and
 * Redis' command statistics. A figure per event is steadier than a rate on a
 * shared machine: it is what docs/performance.md compares changes with.
 * - web / ceiling: 8 s of the bench's ingest load (wrk, 64 connections) on our web role or the bare route;
 * - worker: a worker draining 40,000 stored events to the bench's sink,
 *   measured from when it is ready (its start-up is left out).
 * Extra relay variables (e.g. DEDUP_WINDOW_SECONDS=0) are passed to the relay.
 */
const mode = process.argv[2] ?? 'web'
const relayEnv = {
  DELIVERY_CONCURRENCY: '64',
  LOG_LEVEL: 'warn',
  ...parseRelaySettings(process.argv[3] ?? '')
}

// BENCH_REDIS_TRANSPORT=unix: the relay reaches Redis over a unix socket, as it does the embedded one (npm start).
const unixSocket = process.env.BENCH_REDIS_TRANSPORT === 'unix'
const redis = await startTestRedis({ aof: true, unixSocket })
const relayRedisUrl = redis.socketUrl ?? redis.url
const admin = new Redis(redis.url)
const redisServer = await redisPid(admin)
const sink = await startChild('bench/sink-server.ts')
const perEvent = (micros: number, events: number): string => (micros / events).toFixed(1)

try {
  if (mode === 'worker') {
    const events = 40_000
    await storeThroughWeb({ redisUrl: redis.url, sinkUrl: sink.url, env: relayEnv }, events)
    const sinkCount = async (): Promise<number> => (await (await fetch(`${sink.url}/stats`)).json() as { count: number }).count
    const worker = await startRelayProcess('worker', { redisUrl: relayRedisUrl, recallBaseUrl: sink.url, env: relayEnv })
    await admin.config('RESETSTAT')
    const from = await sinkCount()
    const cpu0 = [cpuMicros(worker.child.pid ?? 0), cpuMicros(redisServer), cpuMicros(sink.child.pid ?? 0)]
    const started = performance.now()
    let to = from
    while ((to = await sinkCount()) < events * 0.9) await sleep(20)
    const seconds = (performance.now() - started) / 1000
    const [worker1, redis1, sink1] = [cpuMicros(worker.child.pid ?? 0), cpuMicros(redisServer), cpuMicros(sink.child.pid ?? 0)]
    const delivered = to - from
    process.stdout.write(`worker: ${Math.round(delivered / seconds)} deliveries/s; CPU µs per delivery: worker ${perEvent(worker1 - (cpu0[0] ?? 0), delivered)}, Redis ${perEvent(redis1 - (cpu0[1] ?? 0), delivered)}, sink ${perEvent(sink1 - (cpu0[2] ?? 0), delivered)}\n`)
    await worker.stop()
  } else {
    const server = mode === 'ceiling'
      ? await startChild('bench/ceiling-server.ts').then(c => ({ url: c.url, pid: c.child.pid ?? 0, stop: async () => { c.child.kill('SIGTERM') } }))
      : await startRelayProcess('web', { redisUrl: relayRedisUrl, recallBaseUrl: sink.url, env: relayEnv }).then(p => ({ url: p.url, pid: p.child.pid ?? 0, stop: p.stop }))
    const wrk = findWrk()
    if (wrk === undefined) throw new Error('wrk is missing: sudo apt-get install wrk (or set WRK_PATH)')
    const run = async (seconds: number): Promise<WrkReport> => await runSignedLoad({ wrk, url: `${server.url}/zoom/webhook`, secret: SECRET, durationS: seconds })
    await run(2)
    await admin.config('RESETSTAT')
    const mainThread0 = mainThreadCpuMicros(server.pid)
    const { report: result, cpu } = await withRunCpu({ server: server.pid, redis: redisServer }, async () => await run(8))
    const mainThread = mainThreadCpuMicros(server.pid) - mainThread0
    process.stdout.write(`${mode}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms; CPU µs per request: load generator (wrk) ${cpu.wrk.toFixed(1)}, server ${cpu.server.toFixed(1)} (main thread ${perEvent(mainThread, result.requests)}, busy ${Math.round(100 * mainThread / (result.durationS * 1e6))} % of wrk's run), Redis ${cpu.redis.toFixed(1)}\n`)
    await server.stop()
  }
  for (const line of (await admin.info('commandstats')).split('\n').filter(l => l.startsWith('cmdstat_')).sort()) process.stdout.write(`${line.trim()}\n`)
} finally {
  sink.child.kill('SIGTERM')
  admin.disconnect()
  await redis.stop()
}
