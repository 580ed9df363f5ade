import { UnrecoverableError, Worker, type Queue } from 'bullmq'
import t from 'tap'
import { EventQueryError, ReplayRefusedError, UnknownEventError } from '../../src/errors.js'
import type { DeliveryRecord } from '../../src/store/delivery-record.js'
import { REPLAY_MAX_EVENTS } from '../../src/history/event-replay.js'
import { deliveryField, eventRecordKey, RECORD_UNSETTLED } from '../../src/store/history-keys.js'
import { decodeBody, type RelayJobData } from '../../src/retry/relay-job.js'
import { sealSignature } from '../../src/store/stored-signature.js'
import { historyAppsFile, openHistory, SCENARIO_TRACEPARENT, SUPPORT_SECRET, writeHistoryEvent, writeScenario, zoomEvent, type WrittenEvent } from '../helpers/history-fixtures.js'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const
const idOf = (event: WrittenEvent): string => event.publicId.split('/')[1] as string

t.test('replay: a job on the one destination\'s retry queue with the original bytes, counted in the record; dry run; refusals', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const { config, client, queues, history } = openHistory(t, redis)
  const events = await writeScenario(client, Date.now() - 60_000)
  const queueOf = (destination: string): Queue<RelayJobData> => queues.all().find(q => q.destination.name === destination)?.queue as Queue<RelayJobData>
  const warehouse = queueOf('warehouse')
  const crm = queueOf('crm')
  const recordKey = (event: WrittenEvent): string => eventRecordKey('zoom-relay', { name: 'sales' }, idOf(event))
  const record = async (event: WrittenEvent, destination: string): Promise<DeliveryRecord | null> => {
    const raw = await client.hget(recordKey(event), deliveryField(destination))
    return raw === null ? null : JSON.parse(raw) as DeliveryRecord
  }
  const unsettled = async (event: WrittenEvent): Promise<string | null> => await client.hget(recordKey(event), RECORD_UNSETTLED)
  const jobCount = async (queue: Queue<RelayJobData>): Promise<number> => Object.values(await queue.getJobCounts(...STATES)).reduce((a, b) => a + b, 0)

  // s3's dead letter for warehouse, as the relay keeps it: a failed job whose id is the event id.
  await warehouse.add('user.updated', { body: '{}', encoding: 'utf8', headers: {}, signatureSha256: '', event: 'user.updated', receivedAt: 0, eventId: idOf(events.s3) }, { jobId: idOf(events.s3), attempts: 1 })
  const failer = new Worker(warehouse.name, async () => { throw new UnrecoverableError('answered 400') }, { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'zoom-relay' })
  await eventually(async () => await warehouse.getJobState(idOf(events.s3)) === 'failed', 10_000, 'dead letter made')
  await failer.close()

  // A dry run says what would be sent and changes nothing.
  const before = await client.hgetall(recordKey(events.s1))
  const dry = await history.replay({ ids: [events.s1.publicId] }, 'warehouse', { dryRun: true })
  t.match(dry, { dryRun: true, destination: 'warehouse', replayed: 1, skipped: [], events: [{ id: events.s1.publicId, app: 'sales', event: 'meeting.created', previousState: 'delivered', jobId: null }] })
  t.equal(await jobCount(warehouse), 1, 'dry run: no job (the one there is the dead letter)')
  t.same(await client.hgetall(recordKey(events.s1)), before, 'dry run: the record is untouched')

  // A replay of a delivered event to one destination.
  const replayed = await history.replay({ ids: [events.s1.publicId] }, 'warehouse')
  const jobId = `replay-${idOf(events.s1)}-1`
  t.match(replayed, { dryRun: false, replayed: 1, events: [{ id: events.s1.publicId, previousState: 'delivered', jobId }] })
  const job = await warehouse.getJob(jobId)
  const data = job?.data as RelayJobData
  t.equal(sha256(decodeBody(data)), sha256(events.s1.body), 'the job holds the original bytes')
  t.match(data, { eventId: idOf(events.s1), replay: true, traceparent: SCENARIO_TRACEPARENT, event: 'meeting.created', receivedAt: Number(idOf(events.s1).split('-')[0]), signatureSha256: sealSignature(events.s1.headers['x-zm-signature'] ?? '') })
  t.same(data.headers, { 'x-zm-request-timestamp': events.s1.headers['x-zm-request-timestamp'], 'content-type': events.s1.headers['content-type'], 'user-agent': events.s1.headers['user-agent'] }, 'Zoom\'s headers as stored')
  t.equal(job?.opts.attempts, config.retry.attempts, 'the destination\'s retry schedule')
  t.equal(await jobCount(crm), 0, 'nothing for the other destination')
  t.match(await record(events.s1, 'warehouse'), { s: 'pending', r: 1, n: 1 }, 'the record: pending again, one replay, the attempts made so far kept')
  t.match(await record(events.s1, 'crm'), { s: 'delivered' }, 'the other destination\'s record untouched')
  t.notOk((await record(events.s1, 'crm'))?.r)
  t.equal(await unsettled(events.s1), '1', 'settled before: one more destination to settle')

  const again = await history.replay({ ids: [events.s1.publicId] }, 'warehouse')
  t.equal(again.events[0]?.jobId, `replay-${idOf(events.s1)}-2`, 'each replay its own job')
  t.match(await record(events.s1, 'warehouse'), { s: 'pending', r: 2 })
  t.equal(await unsettled(events.s1), '1', 'not settled in between: not counted twice')

  // A dead letter: replayed, no longer dead, its failed job (keyed by the event id) gone from the dead-letter set.
  const dead = await history.replay({ ids: [events.s3.publicId] }, 'warehouse')
  t.match(dead.events, [{ previousState: 'dead' }])
  t.equal(await warehouse.getJob(idOf(events.s3)), undefined, 'its dead letter is removed: `dead-letters replay` cannot send it twice')
  const revived = await record(events.s3, 'warehouse')
  t.match(revived, { s: 'pending', r: 1, c: 400 }, 'pending, the last attempt\'s status kept')
  t.notOk(revived?.x, 'no dead-letter reason any more')
  t.equal(await unsettled(events.s3), '1')

  // Refusals: nothing sent, nothing marked.
  const jobsBefore = await jobCount(warehouse)
  const s4Before = await client.hgetall(recordKey(events.s4))
  const refusals: Array<[string, () => Promise<unknown>, { name: string } | { code: string, [k: string]: unknown }]> = [
    ['unknown event', async () => await history.replay({ ids: ['sales/1-0'] }, 'warehouse'), UnknownEventError],
    ['not an id', async () => await history.replay({ ids: ['s1'] }, 'warehouse'), EventQueryError],
    ['body no longer kept', async () => await history.replay({ ids: [events.s5.publicId] }, 'warehouse'), { code: 'ZR_REPLAY_BODY_GONE', statusCode: 410, message: /no longer kept/ }],
    ['one bad id refuses all', async () => await history.replay({ ids: [events.s4.publicId, events.s5.publicId] }, 'warehouse'), { code: 'ZR_REPLAY_BODY_GONE', message: new RegExp(events.s5.publicId) }],
    ['a destination of another app', async () => await history.replay({ ids: [events.s1.publicId] }, 'desk'), { code: 'ZR_REPLAY_WRONG_DESTINATION', statusCode: 400, message: /crm, warehouse/ }],
    ['no such destination', async () => await history.replay({ ids: [events.s1.publicId] }, 'nope'), ReplayRefusedError],
    ['excluded by the destination\'s filter', async () => await history.replay({ ids: [events.s3.publicId] }, 'crm'), { code: 'ZR_REPLAY_FILTERED', statusCode: 409, message: /force/ }],
    ['no ids', async () => await history.replay({ ids: [] }, 'warehouse'), EventQueryError],
    ['no filter', async () => await history.replay({ filters: {} }, 'warehouse'), { code: 'ZR_EVENTS_BAD_QUERY', message: /never means every event/ }]
  ]
  for (const [what, attempt, error] of refusals) await t.rejects(attempt(), error, what)
  t.equal(await jobCount(warehouse), jobsBefore, 'no job added by a refused replay')
  t.same(await client.hgetall(recordKey(events.s4)), s4Before, 'the good event of a refused replay is untouched')

  // --force sends what the filter excludes; a destination that never had the event gets a record (a backfill).
  const forced = await history.replay({ ids: [events.s3.publicId] }, 'crm', { force: true })
  t.match(forced.events, [{ previousState: null, jobId: `replay-${idOf(events.s3)}-1` }])
  t.match(await record(events.s3, 'crm'), { s: 'pending', n: 0, r: 1 })
  t.equal(await unsettled(events.s3), '2')

  // By filter: every match, oldest first.
  const byMeeting = await history.replay({ filters: { app: 'sales', meeting: '111' } }, 'warehouse')
  t.same(byMeeting.events.map(e => e.id), [events.s1.publicId, events.s4.publicId], 'the matches, oldest first')
  t.same((await history.replay({ filters: { account: 'nobody' } }, 'warehouse', { dryRun: true })).replayed, 0, 'a filter matching nothing replays nothing')

  // More than REPLAY_MAX_EVENTS: refused, not cut short.
  const start = Date.now() - 30_000
  for (let i = 0; i <= REPLAY_MAX_EVENTS; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, REPLAY_MAX_EVENTS + 1 - i) }, async (_, j) => await writeHistoryEvent(client, {
      app: 'support', secret: SUPPORT_SECRET, id: `${start}-${i + j}`, body: zoomEvent('meeting.updated', 'BULK', { id: 900 }), deliveries: { desk: { record: { s: 'delivered', n: 1 } } }
    })))
  }
  await t.rejects(history.replay({ filters: { account: 'BULK' } }, 'desk', { dryRun: true }), { code: 'ZR_REPLAY_TOO_MANY', message: /at most 10000/ })
})

t.test('a replay reaches only its destination, byte for byte with Zoom\'s signature, through the running relay\'s workers', async t => {
  const redis = await startTestRedis()
  const crmSink = await startSink()
  const warehouseSink = await startSink()
  const configFile = historyAppsFile(t, { crm: crmSink.url, warehouse: warehouseSink.url })
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { CONFIG_FILE: configFile } })
  t.teardown(async () => { await relay.close(); await crmSink.close(); await warehouseSink.close(); await redis.stop() })
  const { client, queues, history } = openHistory(t, redis, configFile)
  const events = await writeScenario(client, Date.now() - 60_000)

  const { events: [replayed] } = await history.replay({ ids: [events.s1.publicId] }, 'warehouse')
  await warehouseSink.waitFor(1)
  const got = warehouseSink.received[0]
  t.equal(got?.url, '/warehouse')
  t.equal(got?.sha256, sha256(events.s1.body), 'the original bytes')
  t.equal(got?.headers['x-zm-signature'], events.s1.headers['x-zm-signature'], 'Zoom\'s signature, re-derived')
  t.equal(got?.headers['x-zm-request-timestamp'], events.s1.headers['x-zm-request-timestamp'], 'Zoom\'s timestamp')
  const warehouse = queues.all().find(q => q.destination.name === 'warehouse')?.queue
  await eventually(async () => await warehouse?.getJobState(replayed?.jobId ?? '') === 'completed', 20_000, 'the replay job completed')
  const crm = queues.all().find(q => q.destination.name === 'crm')?.queue
  t.same(await crm?.getJobCounts(...STATES), { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 }, 'crm got no job')
  t.equal(crmSink.received.length, 0, 'and no request')
  const raw = await client.hget(eventRecordKey('zoom-relay', { name: 'sales' }, idOf(events.s1)), deliveryField('warehouse'))
  t.match(JSON.parse(raw ?? '{}'), { r: 1 }, 'the replay is counted in the record')
})
