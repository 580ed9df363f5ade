import t, { type Test } from 'tap'
import { createRedis, type RedisClient } from '../../src/redis/redis-connection.js'
import { LastDeliveryRecorder, readLastDeliveries } from '../../src/relay/last-delivery.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'

/** A recorder on a worker connection to a Redis of its own; the timer never fires within a test. */
async function setup (t: Test): Promise<{ redis: TestRedis, connection: RedisClient, recorder: LastDeliveryRecorder }> {
  const redis = await startTestRedis()
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  t.teardown(async () => { connection.disconnect(); await redis.stop() })
  return { redis, connection, recorder: new LastDeliveryRecorder(connection, 'zoom-relay', 60_000) }
}

t.test('the latest delivery per destination reaches Redis in one write per interval', async t => {
  const { connection, recorder } = await setup(t)
  recorder.record('sales', 'recall', 1000)
  recorder.record('sales', 'recall', 3000)
  recorder.record('sales', 'crm', 2000)
  t.same(await readLastDeliveries(connection, 'zoom-relay'), {}, 'nothing written before the flush')
  await recorder.flush()
  t.same(await readLastDeliveries(connection, 'zoom-relay'), { 'sales/recall': 3000, 'sales/crm': 2000 })
  recorder.record('sales', 'crm', 4000)
  await recorder.close()
  t.same(await readLastDeliveries(connection, 'zoom-relay'), { 'sales/recall': 3000, 'sales/crm': 4000 }, 'close flushes')
})

t.test('close does not hang while Redis is away', async t => {
  const { redis, recorder } = await setup(t)
  await redis.kill()
  recorder.record('a', 'b')
  await recorder.close()
  t.pass('closed')
})
