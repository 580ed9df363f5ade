import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { eventually } from '../helpers/queue.js'
import { startTestCluster, startTestSentinel } from '../helpers/redis-topologies.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/**
 * Sends one event until it gets a 2xx (as Zoom re-sends); resolves with whether it was acked before `deadline`.
 * `last` gets the last answer (status or error), which a failed test prints.
 */
async function sendUntilAcked (url: string, body: string, deadline: number, last?: Map<string, string>): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      // Bounded: one stalled request must not use up the whole deadline.
      const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body, headersTimeout: 5000, bodyTimeout: 5000 })
      const answer = await res.body.text()
      if (res.statusCode === 200) return true
      last?.set(body, `${res.statusCode} ${answer.slice(0, 200)}`)
    } catch (err) {
      last?.set(body, (err as Error).message)
    }
    await sleep(100)
  }
  return false
}

t.test('Redis Cluster (3 masters): web and workers on REDIS_CLUSTER_NODES deliver every event once', async t => {
  const cluster = await startTestCluster()
  const sink = await startSink()
  // Two apps × two destinations: queues hash to different slots, each queue's keys to one.
  const relay = await startTestRelay({
    redisUrl: '',
    recallBaseUrl: sink.url,
    env: { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.ports.map(p => `127.0.0.1:${p}`).join(','), DELIVERY_CONCURRENCY: '8' }
  })
  t.teardown(async () => { await relay.close(); await sink.close(); await cluster.stop() })
  t.match(relay.redisUrl, /^cluster 127\.0\.0\.1:\d+,/)
  const bodies = Array.from({ length: 60 }, (_, i) => meetingCreated(i))
  const deadline = Date.now() + 30_000
  const acked = await Promise.all(bodies.map(async b => await sendUntilAcked(relay.webhookUrl(), b, deadline)))
  t.ok(acked.every(Boolean), 'every event acked')
  await sink.waitFor(bodies.length, 30_000)
  t.same(sink.received.map(r => r.sha256).sort(), bodies.map(b => sha256(b)).sort(), 'each delivered exactly once, byte for byte')
  const ready = await request(`${relay.metricsUrl}/readyz`)
  t.equal(ready.statusCode, 200)
  await ready.body.dump()
})

t.test('Redis Sentinel: the master is killed mid-traffic, Sentinel promotes the replica, deliveries continue, nothing acked is lost', async t => {
  const sentinel = await startTestSentinel()
  const sink = await startSink()
  const relay = await startTestRelay({
    redisUrl: '',
    recallBaseUrl: sink.url,
    env: {
      REDIS_URL: '',
      REDIS_SENTINELS: sentinel.sentinels.map(p => `127.0.0.1:${p}`).join(','),
      REDIS_SENTINEL_MASTER_NAME: 'mymaster',
      // A 200 only once the replica has the event: what makes a failover lossless.
      REDIS_MIN_REPLICAS: '1',
      ENQUEUE_TIMEOUT_MS: '1000'
    }
  })
  t.teardown(async () => { await relay.close(); await sink.close(); await sentinel.stop() })
  t.match(relay.redisUrl, /^sentinel mymaster via /)

  // Generous: a failover plus the old master's resync can take tens of seconds on a loaded CI machine.
  const deadline = Date.now() + 100_000
  const ackedBodies: string[] = []
  const lastAnswers = new Map<string, string>()
  let next = 0
  const sendSome = async (count: number): Promise<void> => {
    await Promise.all(Array.from({ length: count }, async () => {
      const body = meetingCreated(next++)
      if (await sendUntilAcked(relay.webhookUrl(), body, deadline, lastAnswers)) ackedBodies.push(body)
    }))
  }
  await sendSome(30)
  const traffic = (async () => { for (let i = 0; i < 10; i++) { await sendSome(5); await sleep(200) } })()
  await sleep(300)
  sentinel.kill(sentinel.master)
  t.comment(`killed the master on ${sentinel.master}`)
  await eventually(() => sentinel.currentMaster() === sentinel.replica, 30_000, 'Sentinel promoted the replica')
  // The old master's pod comes back and rejoins as a replica; until then the new master has no replica to
  // confirm writes, so with REDIS_MIN_REPLICAS=1 the relay answers 503 (Zoom retries) rather than risk an event.
  sentinel.restartAsReplica(sentinel.master, sentinel.replica)
  await traffic
  await sendSome(20)
  if (ackedBodies.length !== 100) {
    const unacked = [...lastAnswers].filter(([body]) => !ackedBodies.includes(body)).map(([, answer]) => answer)
    t.comment(`not acked: ${JSON.stringify(unacked)}; Sentinel's master ${String(sentinel.currentMaster())}`)
  }
  t.equal(ackedBodies.length, 100, 'every event was eventually acked (503s while the master was gone were re-sent)')
  await eventually(() => ackedBodies.every(b => sink.received.some(r => r.sha256 === sha256(b))), 30_000, 'every acked event delivered')
  t.pass('nothing acked was lost across the failover')
  const delivered = new Map<string, number>()
  for (const r of sink.received) delivered.set(r.sha256, (delivered.get(r.sha256) ?? 0) + 1)
  t.comment(`deliveries ${sink.received.length} for ${ackedBodies.length} events (duplicates are allowed: at-least-once)`)
})
