import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config/load-config.js'
import { EnqueueError } from '../../src/errors.js'
import { EventProducer, type EventProducerOptions, type RoundReport } from '../../src/store/event-producer.js'
import { createRedis, type RedisClient } from '../../src/redis/redis-connection.js'
import { storedMeta, type StoredEvent } from '../../src/store/stored-event.js'
import { eventually, openStream } from '../helpers/queue.js'
import { historyIndex, keysHolding, readRecord } from '../helpers/history.js'
import { randomBytes, seededRandom } from '../helpers/random.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { sha256 } from '../helpers/sink.js'
import { tempFile } from '../helpers/temp-file.js'

/** Two apps: `sales` with recall (every event), crm (meeting.* only) and the clean-up; `support` with one http destination. */
function appsFile (t: Test): string {
  return tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretToken: s
    destinations:
      - { type: recall, appId: app-1, apiKey: k, baseUrl: "http://127.0.0.1:9" }
      - { name: crm, type: http, url: "http://127.0.0.1:9/crm", events: { include: ["meeting.*"] } }
    deauthorization: { destination: recall }
  - name: support
    secretToken: t
    destinations: [{ type: http, url: "http://127.0.0.1:9/support" }]
`)
}

async function setup (t: Test, opts: Partial<EventProducerOptions> = {}): Promise<{ redis: TestRedis, producer: EventProducer, connection: RedisClient, calls: () => Promise<number> }> {
  const redis = await startTestRedis()
  const config = loadConfig({ CONFIG_FILE: appsFile(t), REDIS_URL: redis.url })
  const connection = createRedis(redis.url, 'producer')
  connection.on('error', () => {})
  const producer = new EventProducer(connection, { apps: config.apps, prefix: 'zoom-relay', timeoutMs: 500, dedupWindowSeconds: 7200, ...opts })
  t.teardown(async () => { connection.disconnect(); await redis.stop() })
  const admin = redis.client()
  // Script calls so far: how many round trips the events took.
  const calls = async (): Promise<number> => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0)
  return { redis, producer, connection, calls }
}

const event = (body: Buffer | string, name = 'meeting.created'): StoredEvent => ({
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  headers: { 'x-zm-request-timestamp': '1732000000', 'content-type': 'application/json; charset=utf-8' },
  signatureSha256: 'A'.repeat(43),
  event: name
})

t.test('requests of one turn are stored in one script call, each with its exact bytes', async t => {
  const { redis, producer, calls } = await setup(t)
  const random = seededRandom(3)
  // Arbitrary bytes, invalid UTF-8 included: stream fields are binary-safe.
  const bodies = Array.from({ length: 60 }, (_, i) => randomBytes(random, 1 + i * 37))
  const results = await Promise.all(bodies.map(async body => await producer.enqueue('support', event(body))))
  t.ok(results.every(r => !r.duplicate && r.stored === 1), 'every one stored')
  t.equal(await calls(), 1, 'one round trip for all 60')
  const stream = openStream(redis.url, 'support', 'http')
  t.teardown(stream.close)
  const stored = await stream.events()
  t.same(stored.map(e => sha256(e.body)), bodies.map(b => sha256(b)), 'the same bytes, in order')
  t.same(stored[0]?.headers, event('').headers)
  t.equal(stored[0]?.signatureSha256, 'A'.repeat(43))
})

t.test('a round in flight: requests arriving meanwhile wait for the next round (group commit)', async t => {
  const { producer, calls } = await setup(t)
  const first = producer.enqueue('support', event('{"n":0}'))
  // Next turns of the event loop, while the first round is on its way.
  await new Promise(resolve => setImmediate(resolve))
  const later = Array.from({ length: 20 }, async (_, i) => await producer.enqueue('support', event(`{"n":${i + 1}}`)))
  await Promise.all([first, ...later])
  t.equal(await calls(), 2, 'the twenty share the second round')
})

t.test('every round is reported to onRound: its events, how long Redis took, and whether it was stored', async t => {
  const reports: RoundReport[] = []
  const { redis, producer } = await setup(t, { timeoutMs: 300, onRound: round => reports.push(round) })
  const first = producer.enqueue('support', event('{"r":0}'))
  await new Promise(resolve => setImmediate(resolve))
  await Promise.all([first, ...Array.from({ length: 20 }, async (_, i) => await producer.enqueue('support', event(`{"r":${i + 1}}`)))])
  t.same(reports.map(r => [r.events, r.stored]), [[1, true], [20, true]], 'one report per round, with its size')
  t.ok(reports.every(r => Number.isFinite(r.seconds) && r.seconds >= 0), 'durations in seconds')

  // A round sent to a hung Redis: its request is answered 503 after timeoutMs, the round is reported once Redis answers.
  reports.length = 0
  redis.signal('SIGSTOP')
  await t.rejects(producer.enqueue('support', event('{"hung":1}')), { code: 'ZR_ENQUEUE_FAILED' })
  redis.signal('SIGCONT')
  await eventually(() => reports.length === 1, 5000, 'the hung round reported')
  t.equal(reports[0]?.stored, true, 'Redis stored it in the end (Zoom\'s retry will be a duplicate)')
  t.ok((reports[0]?.seconds ?? 0) >= 0.3, 'its duration runs until Redis answered, past the 503')

  // Redis refuses writes when it is out of memory (noeviction): the round fails.
  reports.length = 0
  const admin = redis.client()
  await admin.config('SET', 'maxmemory', '1')
  const refused = await Promise.allSettled([producer.enqueue('support', event('{"oom":1}')), producer.enqueue('support', event('{"oom":2}'))])
  await admin.config('SET', 'maxmemory', '0')
  t.ok(refused.every(r => r.status === 'rejected'), 'both answered 503')
  t.same(reports.map(r => [r.events, r.stored]), [[2, false]], 'a round Redis refused is reported as not stored')
})

t.test('maxBatch and maxBatchBytes split a large round into several script calls', async t => {
  const { producer, calls } = await setup(t, { maxBatch: 10 })
  await Promise.all(Array.from({ length: 25 }, async (_, i) => await producer.enqueue('support', event(`{"n":${i}}`))))
  t.equal(await calls(), 3, '25 events, at most 10 per call')
  // Bodies stored as sent: these padded ones would deflate to almost nothing.
  const bytes = await setup(t, { maxBatchBytes: 2500, compressBodies: false })
  const big = (i: number): StoredEvent => event(`{"n":${i},"pad":"${'x'.repeat(1000)}"}`)
  await Promise.all(Array.from({ length: 6 }, async (_, i) => await bytes.producer.enqueue('support', big(i))))
  t.equal(await bytes.calls(), 3, 'six bodies of ~1 KB, at most ~2.5 KB per call')
  await bytes.producer.enqueue('support', event(`{"pad":"${'y'.repeat(5000)}"}`))
  t.equal(await bytes.calls(), 4, 'a body over the limit still goes, alone')
})

t.test('de-duplication, also within one round and per app', async t => {
  const { producer } = await setup(t)
  const [a, b] = await Promise.all([producer.enqueue('support', event('{"same":1}')), producer.enqueue('support', event('{"same":1}'))])
  t.same([a?.duplicate, b?.duplicate], [false, true], 'the second of two identical bodies in one round')
  t.equal((await producer.enqueue('support', event('{"same":1}'))).duplicate, true, 'and in a later round')
  t.equal((await producer.enqueue('sales', event('{"same":1}'))).duplicate, false, 'another app has its own window')
  const off = await setup(t, { dedupWindowSeconds: 0 })
  t.equal((await off.producer.enqueue('support', event('{"same":1}'))).duplicate, false)
  t.equal((await off.producer.enqueue('support', event('{"same":1}'))).duplicate, false, 'off: stored again')
})

t.test('event filters and the deauthorization record', async t => {
  const { redis, producer } = await setup(t)
  const eventId = /^\d+-\d+$/
  t.strictSame(Object.keys(await producer.enqueue('sales', event('{"a":0}', 'user.updated'))).sort(), ['cleanup', 'duplicate', 'eventId', 'skipped', 'stored'])
  t.match(await producer.enqueue('sales', event('{"a":1}', 'user.updated')), { duplicate: false, stored: 1, skipped: ['crm'], cleanup: false, eventId }, 'the crm takes meeting.* only')
  t.match(await producer.enqueue('sales', event('{"a":2}', 'meeting.started')), { duplicate: false, stored: 2, skipped: [], cleanup: false, eventId })
  const deauthorized = '{"event":"app_deauthorized","payload":{"account_id":"acc","user_id":"usr"}}'
  t.match(await producer.enqueue('sales', event(deauthorized, 'app_deauthorized'), true), { duplicate: false, stored: 1, skipped: ['crm'], cleanup: true, eventId })
  const client = redis.client()
  t.equal(await client.xlen('zoom-relay:{sales}:events:recall'), 4)
  t.equal(await client.xlen('zoom-relay:{sales}:events:crm'), 1)
  const [[, fields] = ['', []]] = await client.xrange('zoom-relay:{sales}:deauthorizations', '-', '+')
  t.same(fields, ['b', deauthorized], 'the clean-up record is the body itself')
  for (const key of ['zoom-relay:{sales}:events:recall', 'zoom-relay:{sales}:events:crm', 'zoom-relay:{sales}:deauthorizations']) {
    const groups = await client.xinfo('GROUPS', key) as unknown[][]
    t.equal(groups.length, 1, `${key} was created with its consumer group`)
  }
  await t.rejects(producer.enqueue('nope', event('{}')), EnqueueError, 'an unknown app is refused')
})

t.test('an event is stored once: its record, its index entry, and a reference per destination that takes it', async t => {
  const { redis, producer } = await setup(t)
  const body = randomBytes(seededRandom(5), 700)
  const facts = { mid: '85746065432', uuid: 'u==', acct: 'acc' }
  const result = await producer.enqueue('sales', event(body, 'user.updated'), false, facts)
  const id = result.eventId ?? ''
  const client = redis.client()
  t.same(await historyIndex(client, 'sales'), [{ id, index: { e: 'user.updated', ...facts, d: ['recall'], x: ['crm'] } }], 'the index entry: id = event id')
  const record = await readRecord(client, id, 'sales')
  t.equal(sha256(record?.body ?? ''), sha256(body), 'the exact bytes')
  t.same(JSON.parse(record?.meta ?? '{}'), JSON.parse(storedMeta(event(body, 'user.updated'))))
  t.equal(record?.unsettled, 1, 'one destination to settle it')
  t.same(record?.deliveries, { recall: { s: 'pending', n: 0 }, crm: { s: 'filtered', n: 0 } })
  t.same(await client.xrange('zoom-relay:{sales}:events:recall', '-', '+').then(entries => entries.map(([, fields]) => fields)), [['r', id]], 'the destination stream holds the id only')
  t.same(await keysHolding(client, body), [`zoom-relay:{sales}:event:${id}`], 'the body is in one key')
  t.equal((await producer.enqueue('sales', event(body, 'user.updated'))).duplicate, true)
  t.equal(await client.xlen('zoom-relay:{sales}:history'), 1, 'a duplicate writes nothing')

  // Retention 0: the history holds only what is still being delivered.
  const config = loadConfig({ CONFIG_FILE: appsFile(t), REDIS_URL: redis.url })
  const crmOnly = config.apps.filter(app => app.name === 'sales').map(app => ({ ...app, destinations: app.destinations.filter(d => d.name === 'crm') }))
  const connection = createRedis(redis.url, 'producer')
  t.teardown(() => { connection.disconnect() })
  const retentionZero = new EventProducer(connection, { apps: crmOnly, prefix: 'zoom-relay', timeoutMs: 500, dedupWindowSeconds: 0, keepSettled: false })
  const taken = await retentionZero.enqueue('sales', event('{"e":1}', 'meeting.started'))
  t.ok(taken.eventId, 'retention 0: an event a destination takes is stored')
  const filtered = await retentionZero.enqueue('sales', event('{"e":2}', 'user.updated'))
  t.match(filtered, { duplicate: false, stored: 0, skipped: ['crm'] })
  t.equal(filtered.eventId, undefined, 'one no destination takes is not kept')
  t.equal(await client.xlen('zoom-relay:{sales}:history'), 2, 'no index entry for it')
})

t.test('Redis down: every request of the round is refused with EnqueueError, and it recovers', async t => {
  const { redis, producer, connection } = await setup(t)
  t.equal((await producer.enqueue('support', event('{"up":1}'))).stored, 1)
  await redis.kill()
  const refused = await Promise.allSettled([producer.enqueue('support', event('{"down":1}')), producer.enqueue('support', event('{"down":2}'))])
  t.ok(refused.every(r => r.status === 'rejected' && r.reason instanceof EnqueueError), 'both refused')
  await eventually(() => connection.status !== 'ready', 5000, 'the connection noticed')
  await t.rejects(producer.enqueue('support', event('{"down":3}')), { code: 'ZR_ENQUEUE_FAILED', message: /not reachable/ },
    'once the connection is known to be down, refused at once instead of waiting for ENQUEUE_TIMEOUT_MS')
  await redis.start()
  let result
  for (let i = 0; i < 100 && result === undefined; i++) {
    try { result = await producer.enqueue('support', event('{"down":1}')) } catch { await new Promise(resolve => setTimeout(resolve, 50)) }
  }
  t.match(result, { duplicate: false, stored: 1, skipped: [], cleanup: false, eventId: /^\d+-\d+$/ }, 'stored once Redis is back: the refusal left no de-duplication mark')
})

t.test('Redis hung: the round is refused after timeoutMs and the next round goes through once it answers', async t => {
  const { redis, producer } = await setup(t, { timeoutMs: 300 })
  t.equal((await producer.enqueue('support', event('{"before":1}'))).stored, 1)
  redis.signal('SIGSTOP')
  const hung = await Promise.allSettled([producer.enqueue('support', event('{"hung":1}'))])
  t.match(hung[0], { status: 'rejected', reason: { code: 'ZR_ENQUEUE_FAILED', message: /within 300 ms/ } })
  redis.signal('SIGCONT')
  let stored
  for (let i = 0; i < 100 && stored === undefined; i++) {
    try { stored = await producer.enqueue('support', event('{"after":1}')) } catch { await new Promise(resolve => setTimeout(resolve, 50)) }
  }
  t.equal(stored?.stored, 1, 'the producer is not stuck behind the round that timed out')
})

t.test('bodies are stored deflated by default and as sent with compressBodies false; a clean-up record keeps the bytes as sent', async t => {
  const body = Buffer.from(JSON.stringify({ event: 'meeting.created', payload: { account_id: 'acc', object: { id: 1, topic: 'Weekly 🗓️ sync', agenda: 'x'.repeat(600) } } }))
  for (const compressBodies of [true, false]) {
    const { redis, producer } = await setup(t, compressBodies ? {} : { compressBodies })
    const { eventId } = await producer.enqueue('support', event(body))
    const record = await readRecord(redis.client(), eventId ?? '', 'support')
    t.equal(sha256(record?.body ?? ''), sha256(body), `${compressBodies ? 'deflated' : 'as sent'}: reads back as the exact bytes`)
    if (compressBodies) {
      t.ok((record?.storedBody?.length ?? Infinity) < body.length / 2, `stored in ${record?.storedBody?.length} of ${body.length} bytes`)
      t.equal(JSON.parse(record?.meta ?? '{}').z, 1, 'the metadata names the encoding')
    } else {
      t.equal(sha256(record?.storedBody ?? ''), sha256(body), 'stored as sent')
      t.notOk('z' in JSON.parse(record?.meta ?? '{}'), 'no encoding named')
    }
  }
  const { redis, producer } = await setup(t)
  const deauthorized = Buffer.from(JSON.stringify({ event: 'app_deauthorized', payload: { account_id: 'acc', user_id: 'usr', signature: 's'.repeat(300) } }))
  await producer.enqueue('sales', event(deauthorized, 'app_deauthorized'), true)
  t.same((await keysHolding(redis.client(), deauthorized)).sort(), ['zoom-relay:{sales}:deauthorizations', `zoom-relay:{sales}:event:${(await historyIndex(redis.client(), 'sales'))[0]?.id}`].sort(), 'the clean-up stream and the record hold the bytes as sent')
})
