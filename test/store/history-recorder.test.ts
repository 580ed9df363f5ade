import t, { type Test } from 'tap'
import { request } from 'undici'
import { pickStoredHeaders } from '../../src/ingress/forwarded-headers.js'
import { storedMeta } from '../../src/store/stored-event.js'
import { singleAttempt, type DeliveryRecord } from '../../src/store/delivery-record.js'
import type { AppConfig, DestinationConfig } from '../../src/config/config.js'
import { createRedis } from '../../src/redis/redis-connection.js'
import { attemptOutcome } from '../../src/relay/delivery-outcome.js'
import { HistoryRecorder } from '../../src/store/history-recorder.js'
import { toRelayJobData } from '../../src/retry/relay-job.js'
import { sealSignature } from '../../src/store/stored-signature.js'
import { eventually, openQueue, readEvent, RECALL_STREAM } from '../helpers/queue.js'
import { historyIndex, keysHolding, readRecord, type EventRecordView } from '../helpers/history.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { startTestRelay, SECRET, type TestRelay } from '../helpers/relay.js'
import { sha256, startSink, type Sink, type SinkBehaviour } from '../helpers/sink.js'
import { tempFile } from '../helpers/temp-file.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

async function send (url: string, body: string, secret = SECRET): Promise<number> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(secret, body), body })
  await res.body.dump()
  return res.statusCode
}

/** The env-configured app (destination `recall`) on a sink that answers as `behaviour` says. */
async function setup (t: Test, behaviour?: SinkBehaviour, env: Record<string, string> = {}): Promise<{ redis: TestRedis, sink: Sink, relay: TestRelay }> {
  const redis = await startTestRedis()
  const sink = await startSink(behaviour)
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })
  return { redis, sink, relay }
}

/** The id of the only event stored so far. */
async function onlyEventId (t: Test, redis: TestRedis, app = 'default'): Promise<string> {
  const index = await historyIndex(redis.client(), app)
  t.equal(index.length, 1, 'one index entry')
  return index[0]?.id ?? ''
}

/** Waits until `destination`'s delivery record of event `id` is in `state`; returns the record. */
async function recordWhen (redis: TestRedis, id: string, state: string, check: (r: EventRecordView) => boolean = () => true, destination = 'recall', app = 'default'): Promise<EventRecordView> {
  let record: EventRecordView | undefined
  await eventually(async () => {
    record = await readRecord(redis.client(), id, app)
    return record?.deliveries[destination]?.s === state && check(record)
  }, 15_000, `${destination} ${state}`)
  return record as EventRecordView
}

t.test('a first attempt that delivers: one index entry, the record says delivered, and is its attempt', async t => {
  const { redis, sink, relay } = await setup(t)
  const body = meetingCreated(4242)
  t.equal(await send(relay.webhookUrl(), body), 200)
  await sink.waitFor(1)
  const id = await onlyEventId(t, redis)
  const record = await recordWhen(redis, id, 'delivered')
  t.same((await historyIndex(redis.client()))[0]?.index, { e: 'meeting.created', mid: '4242', uuid: 'uuid-4242==', acct: 'AAAAAAAAAAAAAAAAAAAAAA', d: ['recall'] }, 'what searches filter on, nothing else')
  t.equal(sha256(record.body ?? ''), sha256(body), 'the exact bytes, kept after delivery')
  t.equal(record.unsettled, 0, 'settled')
  t.match(record.deliveries.recall, { s: 'delivered', n: 1, c: 200, f: Number, l: Number, t: Number })
  t.notOk('e' in (record.deliveries.recall ?? {}), 'no error')
  t.ok((record.deliveries.recall?.t ?? 0) >= (record.deliveries.recall?.f ?? Infinity), 'delivered after the attempt started')
  t.notOk('recall' in record.attempts, 'no attempt log: the record holds the one attempt')
  const recall = record.deliveries.recall as DeliveryRecord
  t.same(singleAttempt(recall), { at: recall.f, c: 200, ms: (recall.t ?? 0) - (recall.f ?? 0) }, 'the attempt read back from the record')
  t.equal(await redis.client().xlen(RECALL_STREAM), 0, 'the stream entry is gone')

  // A second attempt (a replay) writes the log, the first attempt first.
  const connection = createRedis(redis.url, 'worker')
  t.teardown(() => { connection.disconnect() })
  const recorder = new HistoryRecorder({ redis: connection, prefix: 'zoom-relay', retention: { retentionSeconds: 3600, maxEvents: 1000, bodyRetentionSeconds: 3600, compressBodies: true } })
  const at = (recall.t ?? 0) + 1000
  await recorder.record({ name: 'default' } as AppConfig, { name: 'recall' } as DestinationConfig, attemptOutcome(id, { outcome: 'delivered', status: 202 }, at, 7, true))
  const replayed = await readRecord(redis.client(), id)
  t.same(replayed?.attempts.recall, [singleAttempt(recall), { at, c: 202, ms: 7, r: 1 }], 'the log: the first attempt from the record, then the replay')
  t.match(replayed?.deliveries.recall, { s: 'delivered', n: 2, c: 202, f: recall.f, l: at, t: at + 7 })
})

t.test('a failed first attempt: retrying, then delivered by the retry job (job id = event id)', async t => {
  const { redis, sink, relay } = await setup(t, () => ({ status: 503 }))
  const { queue, close } = openQueue(redis.url)
  t.teardown(close)
  t.equal(await send(relay.webhookUrl(), meetingCreated(7)), 200)
  const id = await onlyEventId(t, redis)
  const retrying = await recordWhen(redis, id, 'retrying')
  t.match(retrying.deliveries.recall, { s: 'retrying', c: 503, e: String, f: Number, l: Number })
  t.equal(retrying.unsettled, 1, 'not settled while retrying')
  t.ok(await queue.getJob(id), 'the retry job carries the event id')
  sink.behave(() => ({ status: 200 }))
  const delivered = await recordWhen(redis, id, 'delivered')
  const n = delivered.deliveries.recall?.n ?? 0
  t.ok(n >= 2, 'every attempt counted')
  t.match(delivered.deliveries.recall, { c: 200, t: Number })
  t.notOk('e' in (delivered.deliveries.recall ?? {}), 'the last attempt succeeded: no error')
  t.equal(delivered.attempts.recall?.length, n, 'each attempt logged')
  t.match(delivered.attempts.recall?.[0], { c: 503, e: String })
  t.match(delivered.attempts.recall?.at(-1), { c: 200 })
  t.equal(delivered.unsettled, 0)
  await eventually(async () => await (await queue.getJob(id))?.isCompleted() === true, 5000, 'the job completed')
})

t.test('dead letters: rejected (4xx) at the first attempt, and attempts exhausted in the retry lane', async t => {
  const rejected = await setup(t, () => ({ status: 400, body: 'no' }))
  t.equal(await send(rejected.relay.webhookUrl(), meetingCreated(1)), 200)
  const id = await onlyEventId(t, rejected.redis)
  const record = await recordWhen(rejected.redis, id, 'dead')
  t.match(record.deliveries.recall, { s: 'dead', x: 'rejected', n: 1, c: 400, e: String })
  t.equal(record.unsettled, 0, 'a dead letter is settled')
  const dead = openQueue(rejected.redis.url)
  t.teardown(dead.close)
  await eventually(async () => await (await dead.queue.getJob(id))?.isFailed() === true, 5000, 'the dead letter is a failed job with the event id')

  const exhausted = await setup(t, () => ({ status: 503 }), { RETRY_ATTEMPTS: '3' })
  t.equal(await send(exhausted.relay.webhookUrl(), meetingCreated(2)), 200)
  const other = await onlyEventId(t, exhausted.redis)
  const out = await recordWhen(exhausted.redis, other, 'dead')
  t.match(out.deliveries.recall, { s: 'dead', x: 'attempts_exhausted', n: 3, c: 503 })
  t.same(out.attempts.recall?.map(a => a.c), [503, 503, 503], 'three attempts logged')
  t.equal(out.unsettled, 0)
})

t.test('a replay job (replay: true) logs its attempt as a replay and sets delivered again', async t => {
  const { redis, sink, relay } = await setup(t)
  const body = meetingCreated(9)
  t.equal(await send(relay.webhookUrl(), body), 200)
  const id = await onlyEventId(t, redis)
  await recordWhen(redis, id, 'delivered')
  const { queue, close } = openQueue(redis.url)
  t.teardown(close)
  // As the replay command adds it: the original event, flagged, in the destination's retry queue.
  const stored = await readEvent(redis.client(), 'default', id)
  await queue.add(stored.event, { ...toRelayJobData(stored, id), replay: true }, { jobId: `replay-${id}` })
  await sink.waitFor(2)
  const record = await recordWhen(redis, id, 'delivered', r => r.deliveries.recall?.n === 2)
  t.same(record.attempts.recall?.map(a => [a.c, a.r]), [[200, undefined], [200, 1]], 'the second attempt is the replay\'s')
  t.equal(record.deliveries.recall?.t, (record.attempts.recall?.[1]?.at ?? 0) + (record.attempts.recall?.[1]?.ms ?? 0), 'the delivery time is the replay\'s')
  t.equal(sink.received[1]?.sha256, sha256(body), 'the same bytes again')
  t.equal(record.unsettled, 0)
})

t.test('EVENT_RETENTION_SECONDS=0: nothing is left once the event is delivered', async t => {
  const { redis, sink, relay } = await setup(t, undefined, { EVENT_RETENTION_SECONDS: '0' })
  t.equal(await send(relay.webhookUrl(), meetingCreated(5)), 200)
  await sink.waitFor(1)
  const client = redis.client()
  await eventually(async () => (await client.keys('zoom-relay:{default}:event:*')).length === 0 && await client.xlen('zoom-relay:{default}:history') === 0, 10_000, 'record and index entry removed')
  t.equal(await client.xlen(RECALL_STREAM), 0)
})

t.test('three destinations: the body is stored once; a filtered destination is recorded as such', async t => {
  const sinks = await Promise.all([startSink(), startSink(), startSink()])
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretToken: sales-secret
    destinations:
${sinks.map((s, i) => `      - { type: http, name: d${i}, url: "${s.url}/hook"${i === 2 ? ', events: { include: ["meeting.*"] }' : ''} }`).join('\n')}
`)
  const redis = await startTestRedis()
  const env = { CONFIG_FILE: file }
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env })
  t.teardown(async () => { await web.close(); await Promise.all(sinks.map(async s => { await s.close() })); await redis.stop() })
  const client = redis.client()
  const body = meetingCreated(31, { topic: 'Once 🚀' })
  t.equal(await send(web.webhookUrl('sales'), body, 'sales-secret'), 200)
  const first = await readRecord(client, await onlyEventId(t, redis, 'sales'), 'sales')
  t.equal(sha256(first?.body ?? ''), sha256(body), 'the record reads back as the exact bytes')
  // Stored deflated by default: look for the bytes Redis holds.
  const bytes = first?.storedBody ?? Buffer.alloc(0)
  t.ok(bytes.length > 0 && bytes.length < Buffer.byteLength(body), `stored in ${bytes.length} of ${Buffer.byteLength(body)} bytes`)
  t.same(await keysHolding(client, bytes), [`zoom-relay:{sales}:event:${await onlyEventId(t, redis, 'sales')}`], 'the body is in one key: the event\'s record')
  for (let i = 0; i < 3; i++) t.equal(await client.xlen(`zoom-relay:{sales}:events:d${i}`), 1, `d${i}'s stream has a reference`)

  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'worker', env })
  t.teardown(async () => { await worker.close() })
  await Promise.all(sinks.map(async s => { await s.waitFor(1) }))
  const id = await onlyEventId(t, redis, 'sales')
  for (const d of ['d0', 'd1', 'd2']) await recordWhen(redis, id, 'delivered', () => true, d, 'sales')
  t.same(await keysHolding(client, bytes), [`zoom-relay:{sales}:event:${id}`], 'still once after the deliveries')
  t.equal((await readRecord(client, id, 'sales'))?.unsettled, 0)
  for (const s of sinks) t.equal(s.received[0]?.sha256, sha256(body), 'each destination got the exact bytes')

  const other = JSON.stringify({ event: 'user.updated', payload: { account_id: 'acc-1', object: { id: 'user-1' } } })
  t.equal(await send(web.webhookUrl('sales'), other, 'sales-secret'), 200)
  const [, second] = await historyIndex(client, 'sales')
  t.same(second?.index, { e: 'user.updated', mid: 'user-1', acct: 'acc-1', d: ['d0', 'd1'], x: ['d2'] })
  const filtered = await recordWhen(redis, second?.id ?? '', 'delivered', r => r.deliveries.d1?.s === 'delivered', 'd0', 'sales')
  t.same(filtered.deliveries.d2, { s: 'filtered', n: 0 }, 'never sent, recorded as filtered')
  t.equal(filtered.unsettled, 0, 'filtered counts as settled')
  t.equal(sinks[2]?.received.length, 1, 'the filtered destination got nothing more')
})

t.test('an entry stored before the history existed (the event in the entry) is still delivered', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const body = meetingCreated(77)
  const headers = zoomHeaders(SECRET, body)
  const client = redis.client()
  await client.xgroup('CREATE', RECALL_STREAM, 'relay', '0', 'MKSTREAM')
  const meta = storedMeta({ body: Buffer.from(body), headers: pickStoredHeaders(headers), signatureSha256: sealSignature(headers['x-zm-signature'] ?? ''), event: 'meeting.created' })
  await client.xadd(RECALL_STREAM, '*', 'b', body, 'm', meta)
  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker' })
  t.teardown(async () => { await worker.close(); await sink.close(); await redis.stop() })
  await sink.waitFor(1)
  t.equal(sink.received[0]?.sha256, sha256(body), 'the exact bytes')
  await eventually(async () => await client.xlen(RECALL_STREAM) === 0, 5000, 'acknowledged')
  t.equal(await client.exists('zoom-relay:{default}:history'), 0, 'nothing written to the history for it')
})
