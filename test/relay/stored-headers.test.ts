import t, { type Test } from 'tap'
import { request } from 'undici'
import { eventually, metricValue, openQueue, RECALL_STREAM, streamLength } from '../helpers/queue.js'
import { eventRecordKey } from '../../src/store/history-keys.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay, SECRET } from '../helpers/relay.js'
import { sha256, startSink, type ReceivedRequest } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/**
 * Redis is not trusted with what is sent to a destination: the body and
 * timestamp are re-verified through the sealed signature, and the headers are
 * filtered through the forwarded-header allow-list again at send time, so a
 * tampered stream entry or an edited retry job cannot add credentials or
 * reroute a request.
 */
const INJECTED = {
  authorization: 'Bearer stolen',
  cookie: 'session=stolen',
  host: 'evil.example',
  clientid: 'zoom-client-id',
  'x-forwarded-for': '203.0.113.9',
  'content-length': '1',
  'transfer-encoding': 'chunked',
  'x-zm-signature': 'v0=forged'
}

async function send (url: string, body: string): Promise<void> {
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}`)
}

function assertClean (t: Test, got: ReceivedRequest | undefined, body: string, sinkUrl: string): void {
  t.ok(got, 'the event was delivered')
  t.equal(got?.sha256, sha256(body), 'its exact bytes')
  for (const name of ['authorization', 'cookie', 'clientid', 'x-forwarded-for', 'transfer-encoding']) t.notOk(name in (got?.headers ?? {}), `no ${name}`)
  t.equal(got?.headers.host, new URL(sinkUrl).host, 'host is the destination\'s own')
  t.equal(got?.headers['content-length'], String(Buffer.byteLength(body)), 'the real content length')
  t.match(got?.headers['x-zm-signature'], /^v0=[0-9a-f]{64}$/, 'the restored signature, not the injected one')
  t.not(got?.headers['x-zm-signature'], INJECTED['x-zm-signature'])
  t.equal(got?.headers['user-agent'], 'Zoom Marketplace/1.0a', 'allowed headers still go')
}

/** Rewrites the metadata of the event the stream's first entry refers to, as `edit` says. */
async function tamperFirstEntry (client: ReturnType<Awaited<ReturnType<typeof startTestRedis>>['client']>, edit: (meta: { h: Record<string, unknown>, s: string, e: string }) => void): Promise<void> {
  const [first] = await client.xrange(RECALL_STREAM, '-', '+', 'COUNT', 1)
  if (first === undefined) throw new Error('no entry')
  const record = eventRecordKey('zoom-relay', { name: 'default' }, first[1][1] ?? '')
  const meta = JSON.parse(await client.hget(record, 'm') ?? '{}') as { h: Record<string, unknown>, s: string, e: string }
  edit(meta)
  await client.hset(record, 'm', JSON.stringify(meta))
}

t.test('a tampered stream entry cannot add forbidden headers to the request', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  t.teardown(async () => { await sink.close(); await redis.stop() })
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  const body = meetingCreated(41)
  await send(web.webhookUrl(), body)
  await web.close()
  const client = redis.client()
  await tamperFirstEntry(client, meta => { Object.assign(meta.h, INJECTED, { 'user-agent': 'Zoom Marketplace/1.0a' }) })

  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker' })
  t.teardown(async () => { await worker.close() })
  await sink.waitFor(1)
  assertClean(t, sink.received[0], body, sink.url)
  await eventually(async () => await streamLength(client) === 0, 10_000, 'acknowledged')
})

t.test('a tampered retry job cannot add forbidden headers to the request', async t => {
  const redis = await startTestRedis()
  const sink = await startSink((_req, i) => ({ status: i === 0 ? 503 : 200 }))
  // A long backoff: the job waits in the delayed set until promoted below.
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { RETRY_BASE_DELAY_MS: '600000', RETRY_MAX_DELAY_MS: '600000' } })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await relay.close(); await close(); await sink.close(); await redis.stop() })
  const body = meetingCreated(42)
  await send(relay.webhookUrl(), body)
  await eventually(async () => (await queue.getJobCounts('delayed')).delayed === 1, 10_000, 'retry job delayed')
  const [job] = await queue.getDelayed()
  if (job === undefined) throw new Error('no job')
  // A queue-UI or redis-cli edit of the job data.
  await job.updateData({ ...job.data, headers: { ...job.data.headers, ...INJECTED } })
  await job.promote()
  await sink.waitFor(2)
  assertClean(t, sink.received[1], body, sink.url)
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 10_000, 'job completed')
})

t.test('a stored signature seal of the wrong length is reported as corrupt, not thrown', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  t.teardown(async () => { await sink.close(); await redis.stop() })
  const web = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'web' })
  await send(web.webhookUrl(), meetingCreated(43))
  await web.close()
  const client = redis.client()
  await tamperFirstEntry(client, meta => { meta.s = 'c2hvcnQ' })

  const worker = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, role: 'worker' })
  const { queue, close } = openQueue(redis.url)
  t.teardown(async () => { await worker.close(); await close() })
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead-lettered')
  const [failed] = await queue.getFailed()
  t.match(failed?.failedReason, /no longer matches its signature/)
  t.equal(sink.received.length, 0, 'never sent')
  t.equal(await metricValue(worker.metricsUrl, 'zoom_relay_dead_lettered_total', { reason: 'integrity_error' }), 1)
  t.ok(worker.logs.some(l => l.includes('ZR_STORED_EVENT_CORRUPT')), 'logged as a corrupt stored event')
  await eventually(async () => await streamLength(client) === 0, 10_000, 'acknowledged')
})
