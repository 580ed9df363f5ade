import t from 'tap'
import { createRedis } from '../../src/queue/redis-connection.js'
import { LastDeliveryRecorder, readLastDeliveries } from '../../src/relay/last-delivery.js'
import { startTestRedis } from '../helpers/redis-server.js'

t.test('the latest delivery per destination reaches Redis in one write per interval', async t => {
  const redis = await startTestRedis()
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  t.teardown(async () => { connection.disconnect(); await redis.stop() })
  const recorder = new LastDeliveryRecorder(connection, 'zoom-relay', 60_000)
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
  const redis = await startTestRedis()
  const connection = createRedis(redis.url, 'worker')
  connection.on('error', () => {})
  t.teardown(async () => { connection.disconnect(); await redis.stop() })
  const recorder = new LastDeliveryRecorder(connection, 'zoom-relay', 60_000)
  await redis.kill()
  recorder.record('a', 'b')
  await recorder.close()
  t.pass('closed')
})
