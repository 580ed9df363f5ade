import { tempFile } from '../helpers/temp-file.js'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { eventually, metricValue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'
import { sha256, startSink, type Sink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const APP_SECRET = 'fan-out-secret'

/** One app, three destinations of the three kinds, each on its own local sink. */
async function setup (t: Test) {
  const recall = await startSink()
  const attendee = await startSink()
  const crm = await startSink()
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretToken: \${SALES_SECRET}
    destinations:
      - type: recall
        appId: recall-app-1
        baseUrl: ${recall.url}
      - type: attendee
        appId: zoa_abc
        baseUrl: ${attendee.url}
      - type: http
        name: crm
        url: ${crm.url}/hooks/zoom?source=relay
        headers:
          X-Api-Key: \${CRM_API_KEY}
        events:
          include: [meeting.*]
          exclude: [meeting.deleted]
`)
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { CONFIG_FILE: file, SALES_SECRET: APP_SECRET, CRM_API_KEY: 'crm-key-123' } })
  t.teardown(async () => { await relay.close(); await Promise.all([recall.close(), attendee.close(), crm.close()]); await redis.stop() })
  const send = async (body: string): Promise<number> => {
    const res = await request(relay.webhookUrl('sales'), { method: 'POST', headers: zoomHeaders(APP_SECRET, body), body })
    await res.body.dump()
    return res.statusCode
  }
  return { recall, attendee, crm, relay, send }
}

const hashes = (sink: Sink): string[] => sink.received.map(r => r.sha256).sort()

t.test('one event reaches all three destinations with the same bytes; static headers only where configured', async t => {
  const { recall, attendee, crm, relay, send } = await setup(t)
  const body = meetingCreated(1, { topic: 'Fan-out 🚀' })
  t.equal(await send(body), 200)
  await Promise.all([recall.waitFor(1), attendee.waitFor(1), crm.waitFor(1)])
  for (const [name, sink] of [['recall', recall], ['attendee', attendee], ['crm', crm]] as const) {
    t.equal(sink.received[0]?.sha256, sha256(body), `${name}: identical bytes`)
    t.equal(sink.received[0]?.headers['x-zm-signature'], zoomHeaders(APP_SECRET, body, Number(sink.received[0]?.headers['x-zm-request-timestamp']))['x-zm-signature'], `${name}: Zoom's signature`)
  }
  t.equal(recall.received[0]?.url, '/api/v2/zoom-oauth-apps/recall-app-1/webhook')
  t.equal(attendee.received[0]?.url, '/external_webhooks/zoom/oauth_apps/zoa_abc')
  t.equal(crm.received[0]?.url, '/hooks/zoom?source=relay')
  t.equal(crm.received[0]?.headers['x-api-key'], 'crm-key-123', 'the http destination gets its static header')
  t.equal(recall.received[0]?.headers['x-api-key'], undefined, 'Recall does not')
  t.equal(attendee.received[0]?.headers['x-api-key'], undefined, 'Attendee does not')
  for (const destination of ['recall', 'attendee', 'crm']) {
    t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { app: 'sales', destination, outcome: 'delivered' }), 1, `${destination}: own delivery metric`)
  }
  t.notOk(relay.logs.join('').includes('crm-key-123'), 'the static header value is never logged')
})

t.test('event filters: the crm gets meeting.* but not meeting.deleted or user.updated; Recall gets everything', async t => {
  const { recall, attendee, crm, relay, send } = await setup(t)
  const events = ['meeting.started', 'meeting.deleted', 'user.updated', 'recording.completed']
  for (const [i, event] of events.entries()) t.equal(await send(JSON.stringify({ event, payload: { i } })), 200, event)
  await Promise.all([recall.waitFor(4), attendee.waitFor(4), crm.waitFor(1)])
  await new Promise(resolve => setTimeout(resolve, 300))
  t.same(crm.received.map(r => JSON.parse(r.body.toString()).event), ['meeting.started'])
  t.equal(recall.received.length, 4)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_events_filtered_total', { app: 'sales', destination: 'crm' }), 3)
})

t.test('one destination down for a while: the others are unaffected, and it gets everything once back', async t => {
  const { recall, attendee, crm, relay, send } = await setup(t)
  crm.behave(() => ({ status: 503 }))
  const bodies = Array.from({ length: 5 }, (_, i) => meetingCreated(100 + i))
  for (const body of bodies) t.equal(await send(body), 200)
  await Promise.all([recall.waitFor(5), attendee.waitFor(5)])
  t.same(hashes(recall), bodies.map(b => sha256(b)).sort(), 'Recall got all five while the crm was down')
  t.same(hashes(attendee), bodies.map(b => sha256(b)).sort(), 'Attendee got all five while the crm was down')
  await eventually(async () => (await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { destination: 'crm', outcome: 'retry' }) ?? 0) >= 5, 10_000, 'crm failures counted')

  crm.behave(() => ({ status: 200 }))
  const okSince = crm.received.length
  await eventually(async () => await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { destination: 'crm', outcome: 'delivered' }) === 5, 20_000, 'crm caught up')
  t.same(crm.received.slice(okSince).map(r => r.sha256).sort(), bodies.map(b => sha256(b)).sort(), 'each event answered 200 by the crm exactly once')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { destination: 'recall', outcome: 'retry' }), undefined, 'Recall never saw a failure')
})

t.test('a slow destination holds up only itself', async t => {
  const { recall, attendee, crm, relay, send } = await setup(t)
  crm.behave(() => ({ status: 200, delayMs: 4000 }))
  const bodies = Array.from({ length: 10 }, (_, i) => meetingCreated(200 + i))
  for (const body of bodies) t.equal(await send(body), 200)
  await Promise.all([recall.waitFor(10), attendee.waitFor(10)])
  const crmDelivered = async (): Promise<number> => await metricValue(relay.metricsUrl, 'zoom_relay_delivery_attempts_total', { destination: 'crm', outcome: 'delivered' }) ?? 0
  t.equal(await crmDelivered(), 0, 'Recall and Attendee have all ten while every crm delivery is still in flight')
  await eventually(async () => await crmDelivered() === 10, 20_000, 'crm done')
  t.equal(crm.received.length, 10, 'no crm delivery was re-sent while in flight')
})
