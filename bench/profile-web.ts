import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { startTestRedis } from '../test/helpers/redis-server.js'
import { freePort } from '../test/helpers/redis-server.js'
import { SECRET } from '../test/helpers/relay.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/**
 * `node --import tsx bench/profile-web.ts [seconds]`: runs the web role under
 * --cpu-prof with the benchmark's load and prints the functions with the most
 * self time (the evidence in docs/performance.md). Profiles land in .data/profiles/.
 */
const seconds = Number(process.argv[2] ?? 8)
const dir = new URL('../.data/profiles/', import.meta.url).pathname
mkdirSync(dir, { recursive: true })
const before = new Set(readdirSync(dir))
const redis = await startTestRedis({ aof: true })
const port = await freePort()
const metricsPort = await freePort()
const web = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', 'src/cli/main.ts', 'web'], {
  env: { ...process.env, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: 'bench', REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn' },
  stdio: 'inherit'
})
for (;;) {
  try { if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok) break } catch {}
  await sleep(100)
}
let n = 0
const result = await autocannon({
  url: `http://127.0.0.1:${port}/zoom/webhook`,
  connections: 64,
  duration: seconds,
  requests: [{ method: 'POST', setupRequest: req => { const body = meetingCreatedBody(n++); return { ...req, body, headers: signedHeaders(SECRET, body) } } }]
})
process.stdout.write(`${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms\n`)
web.kill('SIGINT')
await new Promise(resolve => web.once('exit', resolve))
await redis.stop()
// tsx's loader thread writes a profile too; the main thread's is the largest new one.
const file = readdirSync(dir).filter(f => f.endsWith('.cpuprofile') && !before.has(f)).map(f => ({ f, size: statSync(dir + f).size })).sort((a, b) => b.size - a.size)[0]?.f ?? ''
interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
const profile = JSON.parse(readFileSync(dir + file, 'utf8')) as { nodes: Node[], samples: number[] }
const self = new Map<string, number>()
for (const node of profile.nodes) {
  const where = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '')
  const key = `${node.callFrame.functionName || '(anonymous)'} ${where}:${node.callFrame.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
process.stdout.write(`profile ${file}; top self time:\n`)
for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${(100 * hits / total).toFixed(1).padStart(5)} %  ${key}\n`)
