import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, startTestRedis } from '../test/helpers/redis-server.js'
import { startRelayProcess } from '../test/helpers/relay-process.js'
import { RECALL_APP_ID, SECRET } from '../test/helpers/relay.js'
import { startChild, storeThroughWeb } from './children.js'
import { findWrk, runSignedLoad } from './wrk.js'

/**
 * `node --import tsx bench/profile.ts web|worker [seconds|events]`: runs one
 * role under `--cpu-prof` with the benchmark's load (web: wrk at 64
 * connections for `seconds`, default 8; worker: draining `events` stored
 * events, default 120000, to the benchmark's sink) and prints where its busy
 * time goes: the functions with the most self time and the share per package,
 * as percentages of the samples that were not idle. The evidence behind
 * docs/performance.md; profiles land in .data/profiles/.
 */
const role = process.argv[2] === 'worker' ? 'worker' : 'web'
const size = Number(process.argv[3] ?? (role === 'web' ? 8 : 120_000))
const dir = new URL('../.data/profiles/', import.meta.url).pathname
mkdirSync(dir, { recursive: true })
const before = new Set(readdirSync(dir))
const redis = await startTestRedis({ aof: true })
const sink = await startChild('bench/sink-server.ts')
// The relay's defaults (log level included), as users run it and as the bench measures it.
const relayEnv = { DELIVERY_CONCURRENCY: '64' }
const metricsPort = await freePort()
const port = await freePort()
const spawnProfiled = (): ReturnType<typeof spawn> => spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', 'src/cli/main.ts', role], {
  env: { ...process.env, ...relayEnv, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: sink.url, REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(metricsPort) },
  stdio: 'inherit'
})
const sinkCount = async (): Promise<number> => (await (await fetch(`${sink.url}/stats`)).json() as { count: number }).count

let profiled: ReturnType<typeof spawn>
if (role === 'web') {
  profiled = spawnProfiled()
  for (;;) {
    try { if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok) break } catch {}
    await sleep(100)
  }
  const wrk = findWrk()
  if (wrk === undefined) throw new Error('wrk is missing: sudo apt-get install wrk (or set WRK_PATH)')
  const result = await runSignedLoad({ wrk, url: `http://127.0.0.1:${port}/zoom/webhook`, secret: SECRET, durationS: size })
  process.stdout.write(`${Math.round(result.rps)} req/s, p99 ${result.p99} ms\n`)
} else {
  // Fill the stream with a web process (not profiled), then let the profiled worker drain it.
  await storeThroughWeb({ redisUrl: redis.url, sinkUrl: sink.url, env: relayEnv }, size)
  profiled = spawnProfiled()
  const started = performance.now()
  while (await sinkCount() < size) await sleep(50)
  process.stdout.write(`${Math.round(size / (performance.now() - started) * 1000)} deliveries/s (start-up included)\n`)
}
profiled.kill('SIGINT')
await new Promise(resolve => profiled.once('exit', resolve))
sink.child.kill('SIGTERM')
await redis.stop()

// tsx's loader thread writes a profile too; the main thread's is the largest new one.
const file = readdirSync(dir).filter(f => f.endsWith('.cpuprofile') && !before.has(f)).map(f => ({ f, size: statSync(dir + f).size })).sort((a, b) => b.size - a.size)[0]?.f ?? ''
interface ProfileNode { callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
const profile = JSON.parse(readFileSync(dir + file, 'utf8')) as { nodes: ProfileNode[] }
const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame
  const name = functionName === '' ? '(anonymous)' : functionName
  // Idle and start-up compilation are not the request path.
  if (name === '(idle)' || name === '(program)') continue
  const hits = node.hitCount ?? 0
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/')
  byFunction.set(`${name} ${where}:${lineNumber + 1}`, (byFunction.get(`${name} ${where}:${lineNumber + 1}`) ?? 0) + hits)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? 'node' : url.includes('/src/') ? 'relay (src/)' : url === '' ? name : 'other')
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits)
}
const total = [...byFunction.values()].reduce((a, b) => a + b, 0)
const pct = (hits: number): string => `${(100 * hits / total).toFixed(1).padStart(5)} %`
process.stdout.write(`profile ${file}; share of busy samples (idle excluded), top self time:\n`)
for (const [key, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) process.stdout.write(`${pct(hits)}  ${key}\n`)
process.stdout.write('by package (self time):\n')
for (const [key, hits] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`${pct(hits)}  ${key}\n`)
