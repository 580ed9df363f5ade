import { randomBytes } from 'node:crypto'
import t from 'tap'
import { request } from 'undici'
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js'
import { eventually, openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startRelayProcess, type RelayProcess } from '../helpers/relay-process.js'
import { RECALL_APP_ID, SECRET } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/** Values that must never reach a span: the Authorization and clientid of the Zoom→relay hop, body content. */
const AUTHORIZATION = 'Bearer zoom-authorization-marker-4b1d'
const CLIENT_ID = 'zoom-clientid-marker-7c2e'
const GUARD = new URL('../helpers/otel-import-guard.mjs', import.meta.url).pathname

interface Sent { body: string, marker: string, signature: string, traceparent: string | undefined }

/** Sends a signed meeting.created (with Zoom's `traceparent` when given) to a web process. */
async function send (web: RelayProcess, id: number, traceparent?: string): Promise<Sent & { status: number }> {
  const marker = `body-marker-${randomBytes(6).toString('hex')}`
  const body = meetingCreated(id, { marker })
  const headers: Record<string, string> = { ...zoomHeaders(SECRET, body), authorization: AUTHORIZATION, clientid: CLIENT_ID }
  if (traceparent !== undefined) headers.traceparent = traceparent
  const res = await request(`${web.url}/zoom/webhook`, { method: 'POST', headers, body })
  await res.body.dump()
  return { body, marker, signature: (headers['x-zm-signature'] ?? '').slice(3), traceparent, status: res.statusCode }
}

t.test('traces on: a span per webhook and per delivery attempt, web and worker processes, one trace per event, nothing secret', async t => {
  const redis = await startTestRedis()
  // Each event's first delivery attempt fails: its second comes from the retry queue (the job carries the trace context).
  const seen = new Set<string>()
  const sink = await startSink(req => {
    if (seen.has(req.sha256)) return { status: 200 }
    seen.add(req.sha256)
    return { status: 503 }
  })
  const receiver = await startOtlpReceiver()
  // Exports only on shutdown (the schedule delay is far away): every span arriving proves relay.close() flushes.
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    RETRY_BASE_DELAY_MS: '50',
    DEDUP_WINDOW_SECONDS: '0'
  }
  const processes: RelayProcess[] = []
  t.teardown(async () => {
    await Promise.all(processes.map(async p => await p.stop()))
    await receiver.close()
    await sink.close()
    await redis.stop()
  })
  const web = await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.url, env })
  processes.push(web)

  const zoomTraceId = randomBytes(16).toString('hex')
  const zoomSpanId = randomBytes(8).toString('hex')
  // Zoom's sampled flag is Zoom's own decision: 00 here, and the relay records the event all the same.
  const zoomTraceparent = `00-${zoomTraceId}-${zoomSpanId}-00`
  const withZoom = await send(web, 1, zoomTraceparent)
  const without = await send(web, 2)
  t.equal(withZoom.status, 200, 'event with Zoom\'s traceparent accepted')
  t.equal(without.status, 200, 'event without one accepted')
  // A forged request: refused, and traced as such (its signature must not be exported either).
  const forgedBody = meetingCreated(3)
  const forgedHeaders: Record<string, string> = { ...zoomHeaders('not-the-secret', forgedBody), authorization: AUTHORIZATION }
  const forged = await request(`${web.url}/zoom/webhook`, { method: 'POST', headers: forgedHeaders, body: forgedBody })
  await forged.body.dump()
  t.equal(forged.statusCode, 401, 'forged request refused')

  // What the web role stored, before any worker runs.
  const stream = openStream(redis.url)
  const stored = await stream.events()
  await stream.close()
  t.equal(stored.length, 2, 'both events stored')
  const storedWith = stored.find(e => e.body.toString() === withZoom.body)
  const storedWithout = stored.find(e => e.body.toString() === without.body)
  t.match(storedWith?.traceparent, new RegExp(`^00-${zoomTraceId}-[\\da-f]{16}-01$`), 'stored trace context continues Zoom\'s trace (sampled by the relay)')
  t.equal(storedWith?.headers.traceparent, zoomTraceparent, 'Zoom\'s own traceparent still stored (and forwarded) as sent')
  t.match(storedWithout?.traceparent, /^00-[\da-f]{32}-[\da-f]{16}-01$/, 'a trace started by the relay when Zoom sent none')
  t.notOk(storedWithout?.traceparent?.includes(zoomTraceId), 'its own trace')

  const worker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env })
  processes.push(worker)
  await sink.waitFor(4, 60_000)
  const delivered = sink.received.filter(r => r.headers.traceparent === zoomTraceparent)
  t.equal(delivered.length, 2, 'destination got Zoom\'s traceparent unchanged, on both attempts')
  t.equal(receiver.payloads.length, 0, 'nothing exported before shutdown (batch delay far away)')

  await Promise.all([web.stop(), worker.stop()])
  t.equal(await web.exited, 0, 'web exited cleanly')
  t.equal(await worker.exited, 0, 'worker exited cleanly')
  await eventually(() => receiver.spans().filter(s => s.name === 'zoom.delivery').length >= 4, 20_000, 'delivery spans exported')
  const spans = receiver.spans()
  t.comment(`spans received: ${spans.map(s => s.name).join(', ')}`)

  t.same([...new Set(spans.map(s => s.resource['zoom_relay.role']))].sort(), ['web', 'worker'], 'spans from both processes')
  t.ok(spans.every(s => s.resource['service.name'] === 'zoom-webhook-relay'), 'default service.name')

  t.equal(spans.filter(s => s.name === 'zoom.webhook').length, 3, 'one webhook span per request')
  const refused = spans.find(s => s.name === 'zoom.webhook' && s.attributes['zoom_relay.outcome'] === 'rejected')
  t.match(refused?.attributes, { 'zoom_relay.app': 'default', 'zoom_relay.reason': 'signature_mismatch', 'http.response.status_code': 401 }, 'the forged request\'s span: rejected, why, 401')
  const refusedVerify = spans.find(s => s.name === 'zoom.webhook.verify' && s.parentSpanId === refused?.spanId)
  t.equal(refusedVerify?.statusCode, 2, 'its verify step failed')
  t.notOk(spans.some(s => s.name === 'zoom.webhook.store' && s.traceId === refused?.traceId), 'and nothing was stored')

  const webhooks = spans.filter(s => s.name === 'zoom.webhook' && s !== refused)
  const traces = [...new Set(spans.filter(s => s.traceId !== refused?.traceId).map(s => s.traceId))]
  t.equal(traces.length, 2, 'one trace id per event')
  t.ok(traces.includes(zoomTraceId), 'the event with Zoom\'s traceparent is traced under Zoom\'s trace id')

  for (const [label, sent, webhookTrace] of [['with Zoom\'s traceparent', withZoom, zoomTraceId], ['without', without, undefined]] as const) {
    const webhook = webhooks.find(s => webhookTrace === undefined ? s.traceId !== zoomTraceId : s.traceId === webhookTrace) as ReceivedSpan
    t.ok(webhook, `${label}: webhook span`)
    if (webhook === undefined) continue
    const inTrace = spans.filter(s => s.traceId === webhook.traceId)
    t.equal(webhook.parentSpanId, webhookTrace === undefined ? '' : zoomSpanId, `${label}: webhook span's parent is Zoom's span, or none`)
    t.equal(webhook.kind, 2, `${label}: webhook span is a SERVER span`)
    t.match(webhook.attributes, { 'zoom_relay.app': 'default', 'zoom_relay.event': 'meeting.created', 'zoom_relay.outcome': 'accepted', 'http.response.status_code': 200, 'http.route': '/zoom/webhook' }, `${label}: webhook attributes`)
    t.equal(webhook.resource['zoom_relay.role'], 'web', `${label}: from the web process`)
    for (const step of ['zoom.webhook.verify', 'zoom.webhook.store']) {
      const child = inTrace.filter(s => s.name === step)
      t.equal(child.length, 1, `${label}: one ${step} span`)
      t.equal(child[0]?.parentSpanId, webhook.spanId, `${label}: ${step} is a child of the webhook span`)
    }
    const stored = sent === withZoom ? storedWith : storedWithout
    t.equal(stored?.traceparent?.split('-')[2], webhook.spanId, `${label}: the stored traceparent names the webhook span`)

    const deliveries = inTrace.filter(s => s.name === 'zoom.delivery').sort((a, b) => Number(a.attributes['zoom_relay.attempt']) - Number(b.attributes['zoom_relay.attempt']))
    t.equal(deliveries.length, 2, `${label}: a delivery span per attempt`)
    for (const delivery of deliveries) {
      t.equal(delivery.parentSpanId, webhook.spanId, `${label}: attempt ${String(delivery.attributes['zoom_relay.attempt'])} is a child of the webhook span`)
      t.equal(delivery.kind, 3, `${label}: delivery span is a CLIENT span`)
      t.equal(delivery.resource['zoom_relay.role'], 'worker', `${label}: from the worker process`)
      t.match(delivery.attributes, { 'zoom_relay.app': 'default', 'zoom_relay.destination': 'recall', 'zoom_relay.destination.kind': 'recall', 'zoom_relay.event': 'meeting.created', 'server.address': '127.0.0.1' }, `${label}: delivery attributes`)
    }
    t.match(deliveries[0]?.attributes, { 'zoom_relay.attempt': 1, 'zoom_relay.retry': false, 'zoom_relay.outcome': 'retry', 'http.response.status_code': 503, 'error.type': '503' }, `${label}: first attempt: 503, will retry`)
    t.equal(deliveries[0]?.statusCode, 2, `${label}: first attempt's span has error status`)
    t.match(deliveries[1]?.attributes, { 'zoom_relay.attempt': 2, 'zoom_relay.retry': true, 'zoom_relay.outcome': 'delivered', 'http.response.status_code': 200 }, `${label}: second attempt (from the retry queue): delivered`)
  }

  const exported = receiver.payloads.join('\n')
  const secrets = {
    'secret token': SECRET,
    'Recall app id (in the destination URL)': RECALL_APP_ID,
    authorization: AUTHORIZATION,
    clientid: CLIENT_ID,
    'signature (event 1)': withZoom.signature,
    'signature (event 2)': without.signature,
    'body (event 1)': withZoom.marker,
    'body (event 2)': without.marker,
    'forged signature': (forgedHeaders['x-zm-signature'] ?? '').slice(3)
  }
  for (const [what, value] of Object.entries(secrets)) t.notOk(exported.includes(value), `no ${what} in what was exported`)
  t.notOk(/zoom-authorization-marker|x-zm-signature|"payload"/.test(exported), 'no header values or body fields')
})

t.test('traces off: nothing exported, no OpenTelemetry module loaded, no trace context stored', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const receiver = await startOtlpReceiver()
  const processes: RelayProcess[] = []
  t.teardown(async () => {
    await Promise.all(processes.map(async p => await p.stop()))
    await receiver.close()
    await sink.close()
    await redis.stop()
  })
  // The guard makes any @opentelemetry import throw: a process that loaded one would not run.
  const nodeArgs = ['--import', GUARD]
  const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' }

  await t.rejects(startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.url, env: common, nodeArgs }),
    /OpenTelemetry import blocked by the test guard/, 'control: with tracing on, the guard stops the process')

  const web = await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { ...common, OTEL_SDK_DISABLED: 'true' }, nodeArgs })
  processes.push(web)
  const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`
  const sent = await send(web, 1, traceparent)
  t.equal(sent.status, 200, 'accepted (OTEL_SDK_DISABLED=true)')
  const stream = openStream(redis.url)
  const [stored] = await stream.events()
  await stream.close()
  t.equal(stored?.traceparent, undefined, 'no trace context of the relay stored')
  t.equal(stored?.headers.traceparent, traceparent, 'Zoom\'s traceparent kept with the headers, as before')

  const worker = await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env: { ...common, OTEL_TRACES_EXPORTER: 'none' }, nodeArgs })
  processes.push(worker)
  await sink.waitFor(1, 30_000)
  t.equal(sink.received[0]?.headers.traceparent, traceparent, 'delivered, with Zoom\'s traceparent')
  // A tracing process flushes its spans on shutdown: after a clean stop, nothing can still be on its way.
  await Promise.all([web.stop(), worker.stop()])
  t.equal(await web.exited, 0, 'web exited cleanly')
  t.equal(await worker.exited, 0, 'worker exited cleanly (OTEL_TRACES_EXPORTER=none)')
  t.equal(receiver.payloads.length, 0, 'nothing exported')
  t.notMatch(web.output() + worker.output(), /OpenTelemetry|opentelemetry/, 'no OpenTelemetry in the logs')
})
