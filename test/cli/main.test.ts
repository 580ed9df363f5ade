import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { eventually } from '../helpers/queue.js'
import { freePort } from '../helpers/redis-server.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'
import { cleanEnv, ROOT, runCli } from '../helpers/cli.js'
import { jsonLogLines } from '../helpers/log-lines.js'

const SECRET = 'npm-start-secret'

t.test('a missing required variable stops start-up with a message that names it (exit 78)', async t => {
  const noToken = await runCli(['all'], { RECALL_ZOOM_OAUTH_APP_ID: 'abc' })
  t.equal(noToken.status, 78)
  t.match(noToken.stderr, /ZOOM_WEBHOOK_SECRET_TOKEN is not set .*Set it to your Zoom app's Secret Token/)
  const noApp = await runCli(['all'], { ZOOM_WEBHOOK_SECRET_TOKEN: 'x' })
  t.equal(noApp.status, 78)
  t.match(noApp.stderr, /RECALL_ZOOM_OAUTH_APP_ID is not set/)
  t.notMatch(noApp.stderr, /\bx\b.*secret/i, 'the secret value is not echoed')
  const badRegion = await runCli(['web'], { ZOOM_WEBHOOK_SECRET_TOKEN: 'x', RECALL_ZOOM_OAUTH_APP_ID: 'abc', RECALL_REGION: 'mars-1', PORT: 'eighty' })
  t.equal(badRegion.status, 78)
  t.match(badRegion.stderr, /RECALL_REGION="mars-1" is not one of us-east-1, us-west-2, eu-central-1, ap-northeast-1/)
  t.match(badRegion.stderr, /PORT="eighty" is not a whole number/, 'every problem at once')
})

t.test('--help and bad usage', async t => {
  const help = await runCli(['--help'], {})
  t.equal(help.status, 0)
  t.match(help.stdout, /Usage: zoom-relay \[web\|worker\|all\]/)
  const bad = await runCli(['serve'], {})
  t.equal(bad.status, 64)
  t.match(bad.stderr, /unknown command "serve"/)
})

t.test('--version and a subcommand\'s --help from the real CLI, with no configuration', async t => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const printed = await runCli(['--version'], {})
  t.equal(printed.status, 0)
  t.equal(printed.stdout, `${version}\n`, 'package.json\'s version, read from the sources (tsx)')
  const help = await runCli(['dead-letters', 'list', '--help'], {})
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, /^Usage: zoom-relay dead-letters/)
})

t.test('npm start with the two variables and no REDIS_URL runs the relay on an embedded redis-server', async t => {
  const sink = await startSink()
  const dataDir = mkdtempSync(join(tmpdir(), 'zr-start-'))
  const port = await freePort()
  const metricsPort = await freePort()
  const output: string[] = []
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    env: cleanEnv({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: 'app-1', RECALL_BASE_URL: sink.url, PORT: String(port), METRICS_PORT: String(metricsPort), HOST: '127.0.0.1', REDIS_DATA_DIR: dataDir })
  })
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()))
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.teardown(async () => {
    try { process.kill(-(child.pid as number), 'SIGKILL') } catch {}
    await sink.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  await eventually(async () => {
    try {
      return (await request(`http://127.0.0.1:${port}/readyz`)).statusCode === 200
    } catch { return false }
  }, 120_000, 'relay ready')
  // The summary line comes after both servers listen, and npm's pipe can hand it over after /readyz answered.
  await eventually(() => output.join('').includes('"msg":"zoom-webhook-relay running"'), 20_000, 'the start-up summary line')
  t.match(output.join(''), /REDIS_URL is not set: started an embedded redis-server/, 'says so in the log')
  const startup = jsonLogLines<{ msg: string, webhooks?: string[], metrics?: string }>(output.join(''))
  t.same(startup.filter(line => line.msg.trim() === ''), [], 'no empty log lines at start-up')
  t.ok(startup.some(line => line.msg === `webhook server listening at http://127.0.0.1:${port}`), 'the webhook server says where it listens')
  t.ok(startup.some(line => line.msg === `metrics and health checks listening at http://127.0.0.1:${metricsPort}`), 'so does the metrics server')
  const running = startup.find(line => line.msg === 'zoom-webhook-relay running')
  t.same(running?.webhooks, [`http://127.0.0.1:${port}/zoom/webhook`], 'the summary line names the webhook URLs')
  t.equal(running?.metrics, `http://127.0.0.1:${metricsPort}/metrics`)

  const body = meetingCreated(42)
  const res = await request(`http://127.0.0.1:${port}/zoom/webhook`, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  t.equal(res.statusCode, 200)
  await sink.waitFor(1, 20_000)
  t.equal(sink.received[0]?.sha256, sha256(body))
  t.equal(sink.received[0]?.url, '/api/v2/zoom-oauth-apps/app-1/webhook')
  const metrics = await (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text()
  t.match(metrics, /zoom_relay_webhooks_received_total\{app="default",event="meeting.created",outcome="accepted",reason=""\} 1/)

  // Stop the node process the way a supervisor would (SIGTERM to the relay, not to redis).
  const relayPid = Number(spawnSync('pgrep', ['-f', '-n', 'dist/src/cli/main.js all'], { encoding: 'utf8' }).stdout.trim())
  t.ok(relayPid > 0, 'found the relay process')
  process.kill(relayPid, 'SIGTERM')
  t.equal(await exited, 0, 'npm start exits cleanly after SIGTERM')
  t.match(output.join(''), /"msg":"stopped"/)
})
