/**
 * `npm run demo`: the relay end to end in one command, on this machine only.
 * Starts a stand-in for Recall on 127.0.0.1, runs the relay (embedded Redis in
 * a temp directory), sends signed sample Zoom webhooks as Zoom would, and
 * prints what Zoom got back and what reached "Recall".
 */
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runRelay } from '../src/cli/run-relay.js'
import { loadConfig } from '../src/config/load-config.js'
import { createLogger } from '../src/logger.js'

const SECRET = 'demo-secret-token'
const RECALL_APP_ID = 'demo-recall-zoom-oauth-app'

const sign = (body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> => ({
  'content-type': 'application/json; charset=utf-8',
  'user-agent': 'Zoom Marketplace/1.0a',
  'x-zm-request-timestamp': String(timestamp),
  'x-zm-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`,
  authorization: 'Bearer zoom-to-relay-credential (never forwarded)'
})
const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex').slice(0, 16)

interface Arrival { path: string, sha: string, signatureValid: boolean, headers: string[] }
const arrivals: Arrival[] = []
const recall = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
    const body = Buffer.concat(chunks)
    const ts = String(req.headers['x-zm-request-timestamp'])
    const expected = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:`).update(body).digest('hex')}`
    arrivals.push({ path: req.url ?? '', sha: sha(body), signatureValid: expected === req.headers['x-zm-signature'], headers: Object.keys(req.headers).filter(h => !['host', 'connection', 'content-length'].includes(h)) })
    res.writeHead(200).end()
  })
})
await new Promise<void>(resolve => recall.listen(0, '127.0.0.1', resolve))
const recallUrl = `http://127.0.0.1:${(recall.address() as AddressInfo).port}`

const dataDir = mkdtempSync(join(tmpdir(), 'zoom-relay-demo-'))
const config = loadConfig({
  ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
  RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID,
  RECALL_BASE_URL: recallUrl,
  REDIS_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: '0',
  METRICS_PORT: '0',
  LOG_LEVEL: 'warn'
})
const relay = await runRelay('all', config, createLogger(config.logLevel))
const endpoint = `${relay.webUrl ?? ''}/zoom/webhook`
console.log(`relay:            ${endpoint}  (embedded Redis at ${relay.redisUrl})`)
console.log(`stand-in Recall:  ${recallUrl}/api/v2/zoom-oauth-apps/${RECALL_APP_ID}/webhook\n`)

const samples: Array<[string, string, Record<string, string>?]> = [
  ['URL validation', JSON.stringify({ payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' }, event_ts: Date.now(), event: 'endpoint.url_validation' })],
  ['meeting.created with emoji', JSON.stringify({ event: 'meeting.created', event_ts: Date.now(), payload: { account_id: 'D8cJuqWVQ623CI4Q8yQK0Q', object: { id: 85746065432, topic: 'Stand-up 🎉 réunion 会议', host_id: 'z8yCxjabcdEFGHfp8uQ' } } })],
  ['user.updated', JSON.stringify({ event: 'user.updated', event_ts: Date.now(), payload: { account_id: 'D8cJuqWVQ623CI4Q8yQK0Q', object: { id: 'z8yCxjabcdEFGHfp8uQ', pmi: 3542471135 } } })],
  ['forged (wrong secret)', JSON.stringify({ event: 'meeting.deleted', payload: {} }), { 'x-zm-signature': `v0=${'0'.repeat(64)}` }]
]
const sent: string[] = []
for (const [label, body, override] of samples) {
  const res = await fetch(endpoint, { method: 'POST', headers: { ...sign(body), ...override }, body })
  console.log(`Zoom → relay  ${label.padEnd(28)} ${res.status}  ${await res.text()}`)
  if (res.status === 200 && !body.includes('url_validation')) sent.push(sha(body))
}

const deadline = Date.now() + 10_000
while (arrivals.length < sent.length && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
console.log('')
for (const a of arrivals) {
  console.log(`relay → Recall  POST ${a.path}  sha256=${a.sha}…  body identical=${sent.includes(a.sha)}  signature valid=${a.signatureValid}`)
  console.log(`                headers: ${a.headers.sort().join(', ')}`)
}
console.log(`\n${arrivals.length} of ${sent.length} accepted events delivered; the URL validation was answered locally and the forged one refused.`)

await relay.close()
recall.close()
rmSync(dataDir, { recursive: true, force: true })
process.exitCode = arrivals.length === sent.length && arrivals.every(a => a.signatureValid && sent.includes(a.sha)) ? 0 : 1
