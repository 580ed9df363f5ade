// zoom-relay send-test-event against a running relay process, a real Redis and a real sink standing in for Recall.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { durationMs, sendTestEventCommand, type TestEventReport } from '../../src/cli/commands/send-test-event.js'
import { configLoader } from '../../src/cli/commands/command.js'
import { runCli } from '../helpers/cli.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { RECALL_APP_ID, SECRET } from '../helpers/relay.js'
import { startSink, type ReceivedRequest } from '../helpers/sink.js'

const redis = await startTestRedis()
t.teardown(async () => { await redis.stop() })
const sink = await startSink()
t.teardown(async () => { await sink.close() })
const relay = await startRelayProcess('all', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { RETRY_BASE_DELAY_MS: '200', RETRY_MAX_DELAY_MS: '400' } })
t.teardown(async () => { await relay.stop() })

const port = new URL(relay.url).port
/** The CLI's environment: the relay's own configuration (HOST and PORT give the default URL). */
const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
  RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID,
  RECALL_BASE_URL: sink.url,
  REDIS_URL: redis.url,
  HOST: '0.0.0.0',
  PORT: port,
  ...extra
})
const report = (stdout: string): TestEventReport => JSON.parse(stdout) as TestEventReport
/** The command in this process (spawning the CLI costs seconds each on a busy machine); main.ts is covered by runCli above. */
const inProcess = async (args: string[], extra: Record<string, string> = {}): Promise<{ status: number, stdout: string }> => {
  let stdout = ''
  const status = await sendTestEventCommand(args, configLoader(env(extra)), text => { stdout += text })
  return { status, stdout }
}
/** Checked independently of src/zoom/signature.ts, as Recall would. */
const signatureValid = (req: ReceivedRequest): boolean => {
  const ts = String(req.headers['x-zm-request-timestamp'])
  return req.headers['x-zm-signature'] === `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:`).update(req.body).digest('hex')}`
}

t.test('a signed sample event is accepted; the same bytes reach the destination with a valid signature', async t => {
  const run = await runCli(['send-test-event', '--event', 'user.updated'], env())
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, new RegExp(`POST http://127\\.0\\.0\\.1:${port}/zoom/webhook {2}user\\.updated {2}app default, \\d+ bytes, sha256 [0-9a-f]{64}`), 'default URL from HOST/PORT and the app path')
  t.match(run.stdout, /→ 200 \{"status":"accepted"\} {2}\(\d+ ms\)/)
  const sha = /sha256 ([0-9a-f]{64})/.exec(run.stdout)?.[1]
  await sink.waitFor(1)
  const arrived = sink.received.find(r => r.sha256 === sha)
  t.ok(arrived, 'the sink got the body sent')
  t.ok(arrived !== undefined && signatureValid(arrived), 'with a signature that verifies')
  t.match(arrived?.body.toString('utf8'), /"first_name":"Zoë"/, 'non-ASCII sent as UTF-8 bytes')
})

t.test('a forged secret is refused: 401 reported, exit 1', async t => {
  const run = await runCli(['send-test-event', '--json'], env({ ZOOM_WEBHOOK_SECRET_TOKEN: 'not-the-relays-secret-token' }))
  t.equal(run.status, 1)
  const r = report(run.stdout)
  t.equal(r.status, 401)
  t.match(r.answer, /ZR_SIGNATURE_MISMATCH/)
  t.equal(r.ok, false)
  t.notMatch(run.stdout + run.stderr, /not-the-relays-secret-token/, 'the token is not printed')
})

t.test('--validate: the answer is checked against the Secret Token; --follow sees it recorded', async t => {
  const run = await inProcess(['--validate', '--follow', '--json'])
  t.equal(run.status, 0, run.stdout)
  const r = report(run.stdout)
  t.equal(r.event, 'endpoint.url_validation')
  t.equal(r.status, 200)
  t.match(r.answer, /^\{"plainToken":"[\w-]{22}","encryptedToken":"[0-9a-f]{64}"\}$/)
  t.equal(r.encryptedTokenValid, true)
  t.equal(r.validationRecorded, true)

  // Signed with a token the relay does not have: refused before any answer is computed.
  const other = await inProcess(['--validate'], { ZOOM_WEBHOOK_SECRET_TOKEN: 'another-secret-token-0000' })
  t.equal(other.status, 1)
  t.match(other.stdout, /→ 401 /)
})

t.test('--follow waits until the destination has the event', async t => {
  const before = sink.received.length
  const run = await inProcess(['--event', 'meeting.created', '--follow', '--json'])
  t.equal(run.status, 0, run.stdout)
  const r = report(run.stdout)
  t.equal(r.ok, true)
  t.match(r.deliveries, [{ destination: 'recall', progress: { state: 'delivered', attempts: 1 } }])
  const arrived = sink.received.slice(before).filter(req => req.sha256 === r.sha256)
  t.equal(arrived.length, 1, 'delivered once, the same SHA-256 as sent')
  t.ok(arrived[0] !== undefined && signatureValid(arrived[0]), 'signature valid at the sink')
  t.match(arrived[0]?.body.toString('utf8'), /"topic":"Weekly sync — réunion 🎉 会议"/)
})

t.test('--follow reports a retried delivery, then a rejected one as a dead letter (exit 1)', async t => {
  const before = sink.received.length
  // 503 to this sample's first arrival only: anything else still reaching the sink (from earlier subtests) gets 200.
  let refused = false
  sink.behave(req => {
    if (refused || !req.body.toString('utf8').startsWith('{"event":"meeting.started"')) return { status: 200 }
    refused = true
    return { status: 503 }
  })
  t.teardown(() => { sink.behave(() => ({ status: 200 })) })
  const retried = await inProcess(['--event', 'meeting.started', '--follow', '--json'])
  t.equal(retried.status, 0, retried.stdout)
  const arrivals = sink.received.slice(before).map(r => /"event":"([^"]+)"/.exec(r.body.toString('utf8'))?.[1]).join(', ')
  t.match(report(retried.stdout).deliveries, [{ destination: 'recall', entryId: /^\d+-\d+$/, progress: { state: 'delivered', attempts: 2 } }], `delivered by the retry job (sink got: ${arrivals})`)

  sink.behave(() => ({ status: 400, body: 'no such app' }))
  const rejected = await inProcess(['--event', 'meeting.ended', '--follow'])
  t.equal(rejected.status, 1)
  t.match(rejected.stdout, /recall\s+dead letter \(rejected\): last 400/)
})

t.test('--follow gives up after --timeout while the destination is down', async t => {
  sink.behave(() => ({ status: 503 }))
  t.teardown(() => { sink.behave(() => ({ status: 200 })) })
  const run = await inProcess(['--event', 'meeting.participant_joined', '--follow', '--timeout', '2s', '--json'])
  t.equal(run.status, 1)
  const r = report(run.stdout)
  t.equal(r.timedOut, true)
  t.match(r.deliveries, [{ destination: 'recall', progress: { state: /^(waiting|retrying)$/ } }])
})

t.test('usage errors exit 64; --help exits 0; an unreachable relay exits 1', async t => {
  const usage = await runCli(['send-test-event', '--event', 'meeting.exploded'], env())
  t.equal(usage.status, 64)
  t.match(usage.stderr, /--event must be one of meeting\.created, /)
  await t.rejects(inProcess(['--validate', '--event', 'meeting.created']), { exitCode: 64, message: /leave out --event/ })
  await t.rejects(inProcess(['--app', 'nope']), { exitCode: 64, message: /no app "nope" \(configured: default\)/ })
  await t.rejects(inProcess(['--url', 'ftp://relay/zoom/webhook']), { exitCode: 64, message: /--url must be an http/ })
  t.equal(durationMs('--timeout', '2m'), 120_000)
  t.equal(durationMs('--timeout', '500ms'), 500)
  t.throws(() => durationMs('--timeout', 'soon'), { exitCode: 64, message: /--timeout must be a duration/ })
  const help = await inProcess(['--help'])
  t.equal(help.status, 0)
  t.match(help.stdout, /Usage: zoom-relay send-test-event/)
  const down = await inProcess(['--url', 'http://127.0.0.1:9/zoom/webhook'])
  t.equal(down.status, 1)
  t.match(down.stdout, /no answer: ECONNREFUSED/)
})
