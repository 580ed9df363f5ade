import t, { type Test } from 'tap'
import { pino } from 'pino'
import { loadConfig } from '../../src/config/load-config.js'
import { HistoryRecorder } from '../../src/store/history-recorder.js'
import { attemptOutcome } from '../../src/relay/delivery-outcome.js'
import { bodySweepCursorKey, sweepCursorKey, sweeperLockKey } from '../../src/store/history-keys.js'
import { HistorySweeper } from '../../src/store/history-sweeper.js'
import { EventProducer } from '../../src/store/event-producer.js'
import { createRedis } from '../../src/redis/redis-connection.js'
import { eventStreamKey } from '../../src/store/stream-keys.js'
import { historyIndex, readRecord } from '../helpers/history.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET } from '../helpers/relay.js'

/**
 * The env-configured app with `env`'s retention; events stored by the
 * producer and settled (delivered) by hand, a clock the test moves.
 */
async function setup (t: Test, env: Record<string, string>) {
  const redis = await startTestRedis()
  const config = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: 'http://127.0.0.1:9', REDIS_URL: redis.url, ...env })
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  t.teardown(async () => { connection.disconnect(); await redis.stop() })
  const clock = { now: Date.now() }
  const now = (): number => clock.now
  const app = config.apps[0]
  const destination = app?.destinations[0]
  if (app === undefined || destination === undefined) throw new Error('no app')
  const producer = new EventProducer(connection, { apps: config.apps, prefix: config.redisPrefix, timeoutMs: 2000, dedupWindowSeconds: 0, keepSettled: config.history.retentionSeconds > 0 })
  const history = new HistoryRecorder({ redis: connection, prefix: config.redisPrefix, retention: config.history, now })
  // A small batch: the sweep has to go on from its cursor.
  const sweeper = new HistorySweeper({ config, redis: connection, logger: pino({ level: 'silent' }), now, batch: 2 })
  const client = redis.client()
  const stream = eventStreamKey(config.redisPrefix, app, destination)
  const ids: string[] = []
  const store = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const result = await producer.enqueue(app.name, { body: Buffer.from(`{"event":"meeting.created","n":${ids.length}}`), headers: {}, signatureSha256: 'A'.repeat(43), event: 'meeting.created' })
      ids.push(result.eventId ?? '')
    }
  }
  /** Settles events (by their index in `ids`) as delivered, acknowledging their stream entries. */
  const settle = async (...which: number[]): Promise<void> => {
    const events = which.map(i => ids[i] ?? '')
    const entries = (await client.xrange(stream, '-', '+')).filter(([, fields]) => events.includes(fields[1] ?? '')).map(([id]) => id)
    await history.settle(app, destination, stream, entries, events.map(id => attemptOutcome(id, { outcome: 'delivered', status: 200 }, clock.now, 3)))
  }
  const left = async (): Promise<number[]> => (await historyIndex(client)).map(e => ids.indexOf(e.id))
  const records = async (): Promise<number> => (await client.keys('zoom-relay:{default}:event:*')).length
  return { clock, client, sweeper, store, settle, left, records, ids, config, app }
}

t.test('by time: settled events older than the retention go, unsettled ones stay; what settles late goes as it settles', async t => {
  const { clock, client, sweeper, store, settle, left, records, app } = await setup(t, { EVENT_RETENTION_SECONDS: '60' })
  await store(6)
  await settle(0, 1, 3, 4)
  await sweeper.sweep()
  t.same(await left(), [0, 1, 2, 3, 4, 5], 'nothing is old yet')
  clock.now += 61_000
  await sweeper.sweep()
  t.same(await left(), [2, 5], 'the settled ones are removed, the unsettled never')
  t.equal(await records(), 2, 'with their records')
  t.ok(await client.pttl(sweepCursorKey('zoom-relay', app)) > 0, 'the sweep remembers where it got to, for a while')
  await settle(2)
  t.same(await left(), [5], 'an old event is removed as soon as it settles')
  t.equal(await records(), 1)
})

t.test('by count: the oldest settled events beyond EVENT_RETENTION_MAX_EVENTS go, never an unsettled one', async t => {
  const { sweeper, store, settle, left, records } = await setup(t, { EVENT_RETENTION_MAX_EVENTS: '3' })
  await store(6)
  await settle(0, 2, 3, 4, 5)
  await sweeper.sweep()
  t.same(await left(), [1, 4, 5], 'three left: the unsettled one and the two newest')
  t.equal(await records(), 3)
})

t.test('EVENT_BODY_RETENTION_SECONDS: settled events lose their body first, metadata and states stay', async t => {
  const { clock, client, sweeper, store, settle, left, ids, app } = await setup(t, { EVENT_RETENTION_SECONDS: '100', EVENT_BODY_RETENTION_SECONDS: '10' })
  await store(3)
  await settle(0, 1)
  clock.now += 20_000
  await sweeper.sweep()
  t.same(await left(), [0, 1, 2], 'events are kept')
  for (const i of [0, 1]) {
    const record = await readRecord(client, ids[i] ?? '')
    t.equal(record?.body, undefined, `event ${i}: no body`)
    t.ok(record?.meta, `event ${i}: metadata kept`)
    t.equal(record?.deliveries.recall?.s, 'delivered', `event ${i}: state kept`)
  }
  t.ok((await readRecord(client, ids[2] ?? ''))?.body, 'an unsettled event keeps its body')
  t.ok(await client.get(bodySweepCursorKey('zoom-relay', app)), 'the body sweep remembers where it got to')
  await settle(2)
  const late = await readRecord(client, ids[2] ?? '')
  t.equal(late?.body, undefined, 'settled past the body retention: the body goes at once')
  t.equal(late?.deliveries.recall?.s, 'delivered')
})

t.test('EVENT_RETENTION_SECONDS=0: an event is removed as it settles, the others stay', async t => {
  const { store, settle, left, records } = await setup(t, { EVENT_RETENTION_SECONDS: '0' })
  await store(2)
  await settle(0)
  t.same(await left(), [1])
  t.equal(await records(), 1)
})

t.test('one sweeper at a time per app: a held lock means no sweep', async t => {
  const { clock, client, sweeper, store, settle, left, app } = await setup(t, { EVENT_RETENTION_SECONDS: '60' })
  await store(2)
  await settle(0, 1)
  clock.now += 61_000
  await client.set(sweeperLockKey('zoom-relay', app), 'another-process', 'PX', 60_000)
  await sweeper.sweep()
  t.same(await left(), [0, 1], 'another process holds the lock')
  await client.del(sweeperLockKey('zoom-relay', app))
  await sweeper.sweep()
  t.same(await left(), [], 'swept once the lock is free')
  t.equal(await client.get(sweeperLockKey('zoom-relay', app)), null, 'and the lock given back')
  await sweeper.close()
})
