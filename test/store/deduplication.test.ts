import t, { type Test } from 'tap'
import { request } from 'undici'
import { metricValue, openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { tempFile } from '../helpers/temp-file.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function post (url: string, body: string, secret = SECRET, timestamp?: number): Promise<{ status: number, body: unknown }> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(secret, body, timestamp), body })
  return { status: res.statusCode, body: await res.body.json() }
}

async function setup (t: Test, env: Record<string, string> = {}) {
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env })
  const stream = openStream(redis.url)
  t.teardown(async () => { await relay.close(); await stream.close(); await redis.stop() })
  return { redis, relay, stream }
}

t.test('the same bytes re-sent (Zoom retry, overlapping subscription) are stored once, answered 200 and counted', async t => {
  const { redis, relay, stream } = await setup(t)
  const body = meetingCreated(1)
  const now = Math.floor(Date.now() / 1000)
  t.same(await post(relay.webhookUrl(), body), { status: 200, body: { status: 'accepted' } })
  // Zoom's retry carries a new timestamp and signature over the same body.
  t.same(await post(relay.webhookUrl(), body, SECRET, now + 30), { status: 200, body: { status: 'duplicate' } })
  t.same(await post(relay.webhookUrl(), body, SECRET, now + 60), { status: 200, body: { status: 'duplicate' } })
  t.equal(await stream.count(), 1, 'stored once')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_webhooks_received_total', { outcome: 'duplicate', event: 'meeting.created' }), 2)
  const keys = await redis.client().keys('zoom-relay:{default}:dedup:*')
  t.equal(keys.length, 1, 'one set for the current window bucket')
  t.equal(keys[0], `zoom-relay:{default}:dedup:${Math.floor(Date.now() / 7_200_000)}`)
  t.equal(await redis.client().scard(keys[0] ?? ''), 1, 'one mark per stored body')
  const ttl = await redis.client().ttl(keys[0] ?? '')
  t.ok(ttl > 7200 && ttl <= 14_400, `kept until the end of the next 2 h bucket, so every event is remembered for at least the window (ttl ${ttl} s)`)

  t.equal((await post(relay.webhookUrl(), meetingCreated(2))).status, 200)
  t.equal(await stream.count(), 2, 'different bytes are a different event')
})

t.test('an event answered 503 leaves no mark: Zoom\'s retry of it is stored', async t => {
  const { redis, relay, stream } = await setup(t)
  const body = meetingCreated(3)
  await redis.kill()
  t.equal((await post(relay.webhookUrl(), body)).status, 503)
  await redis.start()
  let answer
  for (let i = 0; i < 200; i++) {
    answer = await post(relay.webhookUrl(), body)
    if (answer.status !== 503) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  // While Redis comes back, an attempt may be stored after its 503 (too late); the next is then a duplicate of it.
  t.equal(answer?.status, 200, 'a retry is answered 200')
  t.equal(await stream.count(), 1, 'and the event is stored, once: the 503 while Redis was down left no mark')
})

t.test('per app: the same bytes for two apps are two events', async t => {
  const file = tempFile(t, 'apps.yaml', `apps:
  - { name: a, secretToken: sa, destinations: [{ type: http, url: "http://127.0.0.1:9/a" }] }
  - { name: b, secretToken: sb, destinations: [{ type: http, url: "http://127.0.0.1:9/b" }] }
`)
  const { relay } = await setup(t, { CONFIG_FILE: file })
  const body = meetingCreated(4)
  t.same((await post(relay.webhookUrl('a'), body, 'sa')).body, { status: 'accepted' })
  t.same((await post(relay.webhookUrl('b'), body, 'sb')).body, { status: 'accepted' })
  t.same((await post(relay.webhookUrl('a'), body, 'sa')).body, { status: 'duplicate' })
})

t.test('DEDUP_WINDOW_SECONDS=0 turns it off; a short window expires', async t => {
  const off = await setup(t, { DEDUP_WINDOW_SECONDS: '0' })
  const body = meetingCreated(5)
  t.same((await post(off.relay.webhookUrl(), body)).body, { status: 'accepted' })
  t.same((await post(off.relay.webhookUrl(), body)).body, { status: 'accepted' })
  t.equal(await off.stream.count(), 2)
  t.same(await off.redis.client().keys('zoom-relay:*:dedup:*'), [])
  t.ok(off.relay.logs.some(l => l.includes('"level":40') && l.includes('de-duplication is off')), 'turning it off is warned about')

  // The window must outlast the signature tolerance (load-config.ts refuses a shorter one).
  const short = await setup(t, { DEDUP_WINDOW_SECONDS: '3', SIGNATURE_TOLERANCE_SECONDS: '2' })
  t.same((await post(short.relay.webhookUrl(), body)).body, { status: 'accepted' })
  t.same((await post(short.relay.webhookUrl(), body)).body, { status: 'duplicate' })
  // Remembered for at least the window and at most twice as long (the current and the previous bucket).
  await new Promise(resolve => setTimeout(resolve, 6100))
  t.same((await post(short.relay.webhookUrl(), body)).body, { status: 'accepted' }, 'stored again after twice the window')
})
