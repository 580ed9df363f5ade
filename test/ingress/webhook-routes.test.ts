import { createHash, createHmac } from 'node:crypto'
import { tempFile } from '../helpers/temp-file.js'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { metricValue, openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { meetingCreated, urlValidation, zoomHeaders } from '../helpers/zoom.js'

const PREVIOUS_SECRET = 'previous-secret-token-abcdef'
const BODY_LIMIT = 4096

interface Answer { status: number, body: Record<string, unknown>, raw: string }

async function post (url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const res = await request(url, { method: 'POST', headers, body })
  const raw = await res.body.text()
  let parsed: Record<string, unknown> = {}
  try { parsed = JSON.parse(raw) as Record<string, unknown> } catch {}
  return { status: res.statusCode, body: parsed, raw }
}

/** A web-only relay (nothing is delivered, so the stream shows exactly what was stored). */
async function setup (t: Test, env: Record<string, string> = {}) {
  const redis = await startTestRedis()
  const relay = await startTestRelay({
    redisUrl: redis.url,
    recallBaseUrl: 'http://127.0.0.1:9',
    role: 'web',
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT), ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: PREVIOUS_SECRET, ...env }
  })
  const stream = openStream(redis.url)
  t.teardown(async () => { await relay.close(); await stream.close(); await redis.stop() })
  return { redis, relay, stream }
}

/** Every error answer is `{error, message}` JSON and never shows a stack trace. */
function assertErrorShape (t: Test, answer: Answer, status: number, code: string): void {
  t.equal(answer.status, status, `${code}: status ${status}`)
  t.same(Object.keys(answer.body).sort(), ['error', 'message'], `${code}: {error, message}`)
  t.equal(answer.body.error, code)
  t.ok(typeof answer.body.message === 'string' && answer.body.message.length > 0, `${code}: says what is wrong`)
  t.notMatch(answer.raw, /\bat .*\(.*:\d+:\d+\)|node_modules|\/src\//, `${code}: no stack trace`)
}

t.test('401 for every way a request can fail authentication, with the reason counted', async t => {
  const { relay, stream } = await setup(t)
  const body = meetingCreated(1)
  const good = zoomHeaders(SECRET, body)
  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no signature', { ...good, 'x-zm-signature': '' }, 'signature_missing'],
    ['signature without v0=', { ...good, 'x-zm-signature': good['x-zm-signature']?.slice(3) ?? '' }, 'signature_malformed'],
    ['signature too short', { ...good, 'x-zm-signature': 'v0=abcdef' }, 'signature_malformed'],
    ['signature in upper-case hex (Zoom sends lowercase)', { ...good, 'x-zm-signature': `v0=${good['x-zm-signature']?.slice(3).toUpperCase() ?? ''}` }, 'signature_malformed'],
    ['signature of another body', { ...good, 'x-zm-signature': zoomHeaders(SECRET, meetingCreated(2), now)['x-zm-signature'] ?? '' }, 'signature_mismatch'],
    ['signature by another secret', zoomHeaders('some-other-secret', body), 'signature_mismatch'],
    ['no timestamp', { ...good, 'x-zm-request-timestamp': '' }, 'timestamp_missing'],
    ['timestamp not a number', { ...good, 'x-zm-request-timestamp': 'yesterday' }, 'timestamp_malformed'],
    ['timestamp in milliseconds', zoomHeaders(SECRET, body, Date.now()), 'timestamp_malformed'],
    ['timestamp 10 minutes old, correctly signed', zoomHeaders(SECRET, body, now - 600), 'timestamp_out_of_window'],
    ['timestamp 10 minutes ahead, correctly signed', zoomHeaders(SECRET, body, now + 600), 'timestamp_out_of_window']
  ]
  const seen = new Map<string, number>()
  for (const [name, headers, reason] of cases) {
    seen.set(reason, (seen.get(reason) ?? 0) + 1)
    // undici refuses to send empty header values, so "missing" means absent.
    const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''))
    const answer = await post(relay.webhookUrl(), body, sent)
    t.comment(name)
    assertErrorShape(t, answer, 401, `ZR_${reason.toUpperCase()}`)
    t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_webhooks_received_total', { outcome: 'rejected', reason }), seen.get(reason), `${name}: counted as ${reason}`)
  }
  // A timestamp inside the 5-minute window is fine.
  t.equal((await post(relay.webhookUrl(), body, zoomHeaders(SECRET, body, now - 240))).status, 200, 'four minutes old is accepted')
  t.equal(await stream.count(), 1, 'only the accepted request was stored')
})

t.test('SIGNATURE_TOLERANCE_SECONDS narrows the window', async t => {
  const { relay } = await setup(t, { SIGNATURE_TOLERANCE_SECONDS: '30' })
  const body = meetingCreated(1)
  const now = Math.floor(Date.now() / 1000)
  assertErrorShape(t, await post(relay.webhookUrl(), body, zoomHeaders(SECRET, body, now - 120)), 401, 'ZR_TIMESTAMP_OUT_OF_WINDOW')
  t.equal((await post(relay.webhookUrl(), body, zoomHeaders(SECRET, body, now - 5))).status, 200)
})

t.test('replay: a captured, accepted request re-sent after the window is refused', async t => {
  const { relay, stream } = await setup(t, { SIGNATURE_TOLERANCE_SECONDS: '1' })
  const body = meetingCreated(77)
  const captured = zoomHeaders(SECRET, body)
  t.equal((await post(relay.webhookUrl(), body, captured)).status, 200, 'the original is accepted')
  await new Promise(resolve => setTimeout(resolve, 2100))
  assertErrorShape(t, await post(relay.webhookUrl(), body, captured), 401, 'ZR_TIMESTAMP_OUT_OF_WINDOW')
  t.equal(await stream.count(), 1)
})

t.test('url validation is answered locally with an independently computed token, never enqueued', async t => {
  const { relay, stream } = await setup(t)
  const plainToken = 'qgg8vlvZRS6UYooatFL8Aw'
  const body = urlValidation(plainToken)
  const answer = await post(relay.webhookUrl(), body, zoomHeaders(SECRET, body))
  t.equal(answer.status, 200)
  t.same(answer.body, { plainToken, encryptedToken: createHmac('sha256', SECRET).update(plainToken).digest('hex') })
  t.equal(await stream.count(), 0, 'nothing stored for a challenge')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_webhooks_received_total', { event: 'endpoint.url_validation', outcome: 'challenge' }), 1)
  const last = await metricValue(relay.metricsUrl, 'zoom_relay_url_validation_last_success_timestamp_seconds', { app: 'default' })
  t.ok(last !== undefined && Math.abs(last - Date.now() / 1000) < 60, 'last validation time recorded')

  // A challenge is verified like any event: an unsigned one gets nothing back.
  const forged = await post(relay.webhookUrl(), body, zoomHeaders('attacker', body))
  assertErrorShape(t, forged, 401, 'ZR_SIGNATURE_MISMATCH')
  t.notOk('encryptedToken' in forged.body, 'no token for a forged challenge')

  const noToken = JSON.stringify({ event: 'endpoint.url_validation', payload: {} })
  assertErrorShape(t, await post(relay.webhookUrl(), noToken, zoomHeaders(SECRET, noToken)), 400, 'ZR_BODY_MALFORMED')
})

t.test('during a secret rotation both tokens are accepted, and a challenge is answered with the one Zoom used', async t => {
  const { relay, stream } = await setup(t)
  const [one, two] = [meetingCreated(7), meetingCreated(8)]
  t.equal((await post(relay.webhookUrl(), one, zoomHeaders(SECRET, one))).status, 200, 'current token')
  t.equal((await post(relay.webhookUrl(), two, zoomHeaders(PREVIOUS_SECRET, two))).status, 200, 'previous token')
  t.equal(await stream.count(), 2)
  const challenge = urlValidation('rotation-token')
  const answer = await post(relay.webhookUrl(), challenge, zoomHeaders(PREVIOUS_SECRET, challenge))
  t.equal(answer.body.encryptedToken, createHmac('sha256', PREVIOUS_SECRET).update('rotation-token').digest('hex'))
})

t.test('an accepted event is stored with its exact bytes and only the allowed headers', async t => {
  const { relay, stream } = await setup(t)
  const body = meetingCreated(42)
  const headers: Record<string, string> = {
    ...zoomHeaders(SECRET, body),
    authorization: 'Bearer secret-verification-token',
    clientid: 'zoom-client-id',
    cookie: 'session=abc',
    'proxy-authorization': 'Basic eDp5',
    'x-forwarded-for': '10.0.0.1',
    'x-zm-trackingid': 'v=2.0;clid=aw1;rid=WEB_1'
  }
  const answer = await post(relay.webhookUrl(), body, headers)
  t.equal(answer.status, 200)
  t.same(answer.body, { status: 'accepted' })
  const [event] = await stream.events()
  t.equal(event?.event, 'meeting.created')
  t.equal(event?.body.toString('utf8'), body, 'the exact bytes, stored as bytes')
  t.same(Object.keys(event?.headers ?? {}).sort(), ['content-type', 'user-agent', 'x-zm-request-timestamp', 'x-zm-trackingid'])
  t.equal(event?.signatureSha256, createHash('sha256').update(headers['x-zm-signature'] ?? '').digest('base64url'), 'only a hash of the signature is stored')
  const raw = JSON.stringify({ ...event, body: event?.body.toString('utf8') })
  t.notMatch(raw, /secret-verification-token|zoom-client-id|session=abc|eDp5/, 'no credential reached Redis')
  t.notOk(raw.includes((headers['x-zm-signature'] ?? '').slice(3)), 'the signature itself never reaches Redis')
})

t.test('several apps from CONFIG_FILE: each at its own path, each with its own secret', async t => {
  const file = tempFile(t, 'apps.yaml', [
    'apps:',
    '  - name: sales',
    '    secretToken: ${SALES_SECRET}',
    '    destinations: [{ type: recall, appId: sales-app, baseUrl: "http://127.0.0.1:9" }]',
    '  - name: support',
    '    secretTokens: [support-secret]',
    '    destinations: [{ type: http, url: "http://127.0.0.1:9/hook" }]'
  ].join('\n'))
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { CONFIG_FILE: file, SALES_SECRET: 'sales-secret' } })
  const sales = openStream(redis.url, 'sales', 'recall')
  const support = openStream(redis.url, 'support', 'http')
  t.teardown(async () => { await relay.close(); await sales.close(); await support.close(); await redis.stop() })

  const body = meetingCreated(5)
  t.equal((await post(relay.webhookUrl('sales'), body, zoomHeaders('sales-secret', body))).status, 200)
  t.equal((await post(relay.webhookUrl('support'), body, zoomHeaders('support-secret', body))).status, 200)
  assertErrorShape(t, await post(relay.webhookUrl('support'), body, zoomHeaders('sales-secret', body)), 401, 'ZR_SIGNATURE_MISMATCH')
  t.equal(await sales.count(), 1)
  t.equal(await support.count(), 1)
})
