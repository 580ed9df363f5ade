import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { Redis } from 'ioredis'
import { freePort, startTestRedis } from '../test/helpers/redis-server.js'
import { SECRET } from '../test/helpers/relay.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/** Redis CPU per stored event and per command, under the ingest load (evidence for docs/performance.md). */
const redis = await startTestRedis({ aof: true })
const admin = new Redis(redis.url)
const port = await freePort()
const metricsPort = await freePort()
const web = spawn(process.execPath, [...(process.env.WEB_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', 'src/cli/main.ts', 'web'], {
  env: { ...process.env, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: 'bench', REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', ...Object.fromEntries((process.argv[2] ?? '').split(',').filter(Boolean).map(kv => kv.split('='))) },
  stdio: 'inherit'
})
for (;;) {
  try { if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok) break } catch {}
  await sleep(100)
}
const cpu = async (): Promise<number> => { const i = await admin.info('cpu'); return Number(/used_cpu_user:([\d.]+)/.exec(i)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)?.[1]) }
await admin.config('RESETSTAT')
const before = await cpu()
let n = 0
const result = await autocannon({ url: `http://127.0.0.1:${port}/zoom/webhook`, connections: 64, duration: 6, requests: [{ method: 'POST', setupRequest: req => { const body = meetingCreatedBody(n++); return { ...req, body, headers: signedHeaders(SECRET, body) } } }] })
const used = await cpu() - before
const events = result.requests.total
process.stdout.write(`${Math.round(result.requests.average)} req/s; Redis CPU ${(used / 6 * 100).toFixed(0)} % of a core, ${(used / events * 1e6).toFixed(1)} µs per event\n`)
for (const line of (await admin.info('commandstats')).split('\n').filter(l => l.startsWith('cmdstat_')).sort()) process.stdout.write(`${line.trim()}\n`)
web.kill('SIGTERM')
admin.disconnect()
await redis.stop()
