// scripts/demo-sink.ts: the compose demo's stand-in destination, as a real HTTP server.
import { spawn } from 'node:child_process'
import t from 'tap'
import { startDemoSink } from '../../scripts/demo-sink.js'
import { cleanEnv, ROOT } from '../helpers/cli.js'
import { eventually } from '../helpers/queue.js'
import { freePort } from '../helpers/redis-server.js'
import { sha256 } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const SECRET = 'demo-sink-secret-token'

t.test('prints SHA-256 and signature verdict per body, answers 200', async t => {
  const lines: string[] = []
  const sink = await startDemoSink({ secretTokens: [SECRET], port: 0, host: '127.0.0.1', out: line => lines.push(line) })
  t.teardown(sink.close)

  const body = meetingCreated(7, { note: 'réunion 🎉' })
  const ok = await fetch(`${sink.url}/api/v2/zoom-oauth-apps/abc/webhook?x=secret`, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  t.equal(ok.status, 200)
  t.equal(lines[0], `POST /api/v2/zoom-oauth-apps/abc/webhook  event=meeting.created  bytes=${Buffer.byteLength(body)}  sha256=${sha256(body)}  signature valid`, 'query left out')

  const forged = await fetch(sink.url, { method: 'POST', headers: zoomHeaders('another-token', body), body })
  t.equal(forged.status, 200, 'answered anyway: it only reports')
  t.match(lines[1], /sha256=[0-9a-f]{64} {2}signature INVALID \(signature_mismatch\)$/)

  const changed = Buffer.from(body.replace('"type":2', '"type": 2'))
  await fetch(sink.url, { method: 'POST', headers: zoomHeaders(SECRET, body), body: changed })
  t.match(lines[2], /signature INVALID \(signature_mismatch\)/, 'one re-serialised byte breaks it')

  await fetch(sink.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' })
  t.match(lines[3], /^POST \/ {2}event=- {2}bytes=8 .* signature INVALID \(timestamp_missing\)$/)

  t.equal((await fetch(sink.url)).status, 405, 'only POST')
  t.equal(lines.length, 4)
  for (const line of lines) t.notMatch(line, /v0=|demo-sink-secret-token/, 'no signature or token printed')
})

t.test('runs as a program from DEMO_SINK_PORT and ZOOM_WEBHOOK_SECRET_TOKEN; refuses to start without a token', async t => {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo-sink.ts'], { cwd: ROOT, env: cleanEnv({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, DEMO_SINK_PORT: String(port) }) })
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.teardown(async () => { child.kill('SIGKILL'); await exited })
  await eventually(() => stdout.includes('listening'), 60_000, 'demo-sink listening')
  const body = meetingCreated(8)
  t.equal((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: zoomHeaders(SECRET, body), body })).status, 200)
  await eventually(() => stdout.includes(`sha256=${sha256(body)}  signature valid`), 20_000, 'line printed')
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM stops it cleanly')

  const missing = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo-sink.ts'], { cwd: ROOT, env: cleanEnv({}) })
  t.equal(await new Promise(resolve => missing.once('exit', resolve)), 78)
})
