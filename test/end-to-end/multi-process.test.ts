import t from 'tap'
import { request } from 'undici'
import { metricValue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { SECRET } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

t.test('2 web + 3 worker processes on one Redis share the load; every event delivered exactly once', async t => {
  const redis = await startTestRedis({ aof: true })
  // A little latency so that deliveries overlap and every worker gets some.
  const sink = await startSink(() => ({ status: 200, delayMs: 20 }))
  const env = { DELIVERY_CONCURRENCY: '4' }
  const webs = await Promise.all([1, 2].map(async () => await startRelayProcess('web', { redisUrl: redis.url, recallBaseUrl: sink.url, env })))
  const workers = await Promise.all([1, 2, 3].map(async () => await startRelayProcess('worker', { redisUrl: redis.url, recallBaseUrl: sink.url, env })))
  t.teardown(async () => {
    await Promise.all([...webs, ...workers].map(async p => await p.stop()))
    await sink.close()
    await redis.stop()
  })

  const bodies = Array.from({ length: 300 }, (_, i) => meetingCreated(i))
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < bodies.length) {
      const i = next++
      const body = bodies[i] as string
      const res = await request(`${webs[i % 2]?.url ?? ''}/zoom/webhook`, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
      await res.body.dump()
      t.equal(res.statusCode, 200, `event ${i} acked`, { diagnostic: res.statusCode !== 200 })
    }
  }))
  await sink.waitFor(bodies.length, 60_000)
  await new Promise(resolve => setTimeout(resolve, 500))
  t.same(sink.received.map(r => r.sha256).sort(), bodies.map(b => sha256(b)).sort(), 'every event delivered exactly once')
  for (const [i, web] of webs.entries()) {
    t.equal(await metricValue(web.metricsUrl, 'zoom_relay_webhooks_received_total', { outcome: 'accepted' }), 150, `web ${i + 1} took its half`)
    // Each event was stored in exactly one round of its web process's group commit.
    t.equal(await metricValue(web.metricsUrl, 'zoom_relay_ingest_round_events_sum'), 150, `web ${i + 1}: its rounds held its 150 events`)
    const rounds = await metricValue(web.metricsUrl, 'zoom_relay_ingest_round_events_count')
    t.equal(await metricValue(web.metricsUrl, 'zoom_relay_ingest_round_duration_seconds_count', { outcome: 'stored' }), rounds, `web ${i + 1}: every round timed, all stored`)
    t.equal(await metricValue(web.metricsUrl, 'zoom_relay_ingest_round_duration_seconds_count', { outcome: 'failed' }), 0)
  }
  const perWorker = await Promise.all(workers.map(async w => await metricValue(w.metricsUrl, 'zoom_relay_delivery_attempts_total', { outcome: 'delivered' }) ?? 0))
  t.comment(`deliveries per worker: ${perWorker.join(', ')}`)
  t.ok(perWorker.every(n => n > 0), 'every worker delivered some')
  t.equal(perWorker.reduce((a, b) => a + b, 0), bodies.length, 'and together exactly all of them')
})
