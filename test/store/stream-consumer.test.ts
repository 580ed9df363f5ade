import t, { type Test } from 'tap'
import { pino } from 'pino'
import { createRedis } from '../../src/redis/redis-connection.js'
import type { StreamEntry } from '../../src/store/stored-event.js'
import { StreamConsumer, type StreamConsumerOptions } from '../../src/store/stream-consumer.js'
import { streamDepth } from '../../src/store/stream-depth.js'
import { CONSUMER_GROUP } from '../../src/store/stream-keys.js'
import { eventually } from '../helpers/queue.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'

const KEY = 'zoom-relay:{t}:events:d'
const silent = pino({ level: 'silent' })

interface Rig {
  redis: TestRedis
  add: (n: number, from?: number) => Promise<string[]>
  consumer: (opts?: Partial<StreamConsumerOptions>) => { consumer: StreamConsumer, handled: string[] }
}

async function setup (t: Test): Promise<Rig> {
  const redis = await startTestRedis()
  const client = redis.client()
  await client.xgroup('CREATE', KEY, CONSUMER_GROUP, '0', 'MKSTREAM')
  const connections: Array<ReturnType<typeof createRedis>> = []
  const consumers: StreamConsumer[] = []
  t.teardown(async () => {
    for (const c of consumers) await c.close(1000)
    for (const c of connections) c.disconnect()
    await redis.stop()
  })
  return {
    redis,
    add: async (n, from = 0) => await Promise.all(Array.from({ length: n }, async (_, i) => await client.xadd(KEY, '*', 'b', `body-${from + i}`) as string)),
    consumer: (opts = {}) => {
      const connection = createRedis(redis.url, 'worker')
      connection.on('error', () => {})
      connections.push(connection)
      const handled: string[] = []
      const consumer = new StreamConsumer({
        redis: connection,
        key: KEY,
        concurrency: 4,
        claimIdleMs: 300,
        maxDeliveries: 3,
        handle: async (entry: StreamEntry) => { handled.push(entry.fields.get('b')?.toString() ?? '') },
        abandon: async () => {},
        logger: silent,
        labels: {},
        blockMs: 200,
        ...opts
      })
      consumers.push(consumer)
      return { consumer, handled }
    }
  }
}

t.test('handles every entry once, never more than `concurrency` at a time, and deletes what it acknowledged', async t => {
  const { redis, add, consumer } = await setup(t)
  let running = 0
  let most = 0
  const { consumer: c, handled } = consumer({
    concurrency: 5,
    handle: async entry => {
      running++
      most = Math.max(most, running)
      await new Promise(resolve => setTimeout(resolve, 5))
      handled.push(entry.fields.get('b')?.toString() ?? '')
      running--
    }
  })
  c.start()
  await add(200)
  await eventually(() => handled.length === 200, 10_000, 'all handled')
  t.equal(new Set(handled).size, 200, 'each once')
  t.ok(most <= 5, `at most 5 at once (${most})`)
  await eventually(async () => await redis.client().xlen(KEY) === 0, 5000, 'stream emptied')
  t.same(await streamDepth(redis.client(), KEY), { waiting: 0, pending: 0, oldestAt: undefined })
})

t.test('a rejected entry stays pending and is handled again after claimIdleMs', async t => {
  const { redis, add, consumer } = await setup(t)
  let tries = 0
  const { consumer: c, handled } = consumer({
    handle: async entry => {
      if (tries++ === 0) throw new Error('first try fails')
      handled.push(entry.fields.get('b')?.toString() ?? '')
    }
  })
  c.start()
  await add(1)
  await eventually(async () => (await streamDepth(redis.client(), KEY)).pending === 1, 5000, 'pending after the failure')
  await eventually(() => handled.length === 1, 5000, 'taken over and handled')
  t.equal(tries, 2)
})

t.test('entries held by a consumer that died are taken over; one that keeps coming back is abandoned', async t => {
  const { redis, add, consumer } = await setup(t)
  const client = redis.client()
  await add(3)
  // A "worker" reads three entries under its name and dies without acknowledging them.
  await client.xreadgroup('GROUP', CONSUMER_GROUP, 'dead-worker', 'COUNT', 3, 'STREAMS', KEY, '>')
  // The first entry has already been taken over twice before (3 deliveries): one more is one too many.
  const [first] = await client.xrange(KEY, '-', '+', 'COUNT', 1)
  await client.xclaim(KEY, CONSUMER_GROUP, 'dead-worker', 0, first?.[0] ?? '')
  await client.xclaim(KEY, CONSUMER_GROUP, 'dead-worker', 0, first?.[0] ?? '')
  const abandoned: Array<[string, number]> = []
  const { consumer: c, handled } = consumer({ abandon: async (entry, deliveries) => { abandoned.push([entry.fields.get('b')?.toString() ?? '', deliveries]) } })
  c.start()
  await eventually(() => handled.length + abandoned.length === 3, 5000, 'all three settled')
  t.same(handled.sort(), ['body-1', 'body-2'])
  t.same(abandoned, [['body-0', 4]], 'abandoned with its delivery count')
  await eventually(async () => await client.xlen(KEY) === 0, 5000, 'all acknowledged and deleted')
})

t.test('close takes on entries Redis had already moved to it (a read cut short) before it stops', async t => {
  const { redis, add, consumer } = await setup(t)
  const { consumer: c, handled } = consumer({ claimIdleMs: 60_000 })
  await add(2)
  // As if the last read's answer was lost when close() cut the connection.
  await redis.client().xreadgroup('GROUP', CONSUMER_GROUP, c.name, 'COUNT', 2, 'STREAMS', KEY, '>')
  c.start()
  t.equal(await c.close(5000), true, 'closed in time')
  t.same(handled.sort(), ['body-0', 'body-1'])
  t.equal(await redis.client().xlen(KEY), 0)
})

t.test('the stream lost (Redis flushed): the consumer makes it again and carries on', async t => {
  const { redis, add, consumer } = await setup(t)
  const { consumer: c, handled } = consumer()
  c.start()
  await add(1)
  await eventually(() => handled.length === 1, 5000, 'first handled')
  await redis.client().flushall()
  await eventually(async () => await redis.client().exists(KEY) === 1, 5000, 'group and stream made again')
  await add(1, 1)
  await eventually(() => handled.length === 2, 5000, 'handled after the flush')
  t.same(handled, ['body-0', 'body-1'])
})

t.test('Redis restarted under a running consumer: nothing stored is lost', async t => {
  const redis = await startTestRedis({ aof: true })
  const client = redis.client()
  await client.xgroup('CREATE', KEY, CONSUMER_GROUP, '0', 'MKSTREAM')
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  const handled = new Set<string>()
  const consumer = new StreamConsumer({ redis: connection, key: KEY, concurrency: 4, claimIdleMs: 500, maxDeliveries: 10, handle: async e => { handled.add(e.fields.get('b')?.toString() ?? '') }, abandon: async () => {}, logger: silent, labels: {}, blockMs: 200 })
  t.teardown(async () => { await consumer.close(1000); connection.disconnect(); await redis.stop() })
  consumer.start()
  for (let i = 0; i < 20; i++) await client.xadd(KEY, '*', 'b', `before-${i}`)
  await redis.kill('SIGTERM')
  await redis.start()
  const again = redis.client()
  for (let i = 0; i < 20; i++) await again.xadd(KEY, '*', 'b', `after-${i}`)
  await eventually(() => handled.size === 40, 15_000, 'all forty handled')
  t.equal(handled.size, 40)
})

t.test('streamDepth: waiting, taken and the oldest entry', async t => {
  const { redis, add } = await setup(t)
  const client = redis.client()
  t.same(await streamDepth(client, 'zoom-relay:{t}:events:none'), { waiting: 0, pending: 0, oldestAt: undefined }, 'no stream at all')
  const [first] = await add(5)
  await client.xreadgroup('GROUP', CONSUMER_GROUP, 'w', 'COUNT', 2, 'STREAMS', KEY, '>')
  t.same(await streamDepth(client, KEY), { waiting: 3, pending: 2, oldestAt: Number(first?.split('-')[0]) })
})

t.test('load: one call per read for all its entries; acknowledge: the outcomes of each flush with its ids', async t => {
  const { redis, add } = await setup(t)
  await add(10)
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  t.teardown(() => { connection.disconnect() })
  const loads: number[] = []
  const acknowledged: string[] = []
  const outcomes: string[] = []
  const c = new StreamConsumer<{ id: string, body: string }, string>({
    redis: connection,
    key: KEY,
    concurrency: 4,
    claimIdleMs: 60_000,
    maxDeliveries: 3,
    load: async entries => {
      loads.push(entries.length)
      return entries.map(entry => ({ id: entry.id, body: entry.fields.get('b')?.toString() ?? '' }))
    },
    handle: async item => item.body === 'body-3' ? undefined : `done ${item.body}`,
    abandon: async () => undefined,
    acknowledge: async (ids, flushed) => {
      await connection.xack(KEY, CONSUMER_GROUP, ...ids)
      await connection.xdel(KEY, ...ids)
      acknowledged.push(...ids)
      outcomes.push(...flushed)
    },
    logger: silent,
    labels: {},
    blockMs: 200
  })
  c.start()
  t.teardown(async () => { await c.close(1000) })
  await eventually(() => acknowledged.length === 10, 5000, 'all acknowledged')
  t.equal(loads.reduce((a, b) => a + b, 0), 10, 'each entry loaded once')
  t.equal(loads[0], 4, 'the first read\'s four entries in one load')
  t.ok(loads.every(n => n <= 4), `one load per read of up to 4 (${loads.join(', ')})`)
  t.same(outcomes.sort(), Array.from({ length: 10 }, (_, i) => `done body-${i}`).filter(o => o !== 'done body-3').sort(), 'an entry with nothing to record adds no outcome')
  t.equal(await redis.client().xlen(KEY), 0)
})
