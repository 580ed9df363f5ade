import t from 'tap'
import type { Redis } from 'ioredis'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { createRedis } from '../../src/redis/redis-connection.js'

/** ioredis' connector, which its failover detector disconnects on `+switch-master`; not in its typings. */
function connectorOf (redis: Redis): { disconnect: () => void } {
  return (redis as unknown as { connector: { disconnect: () => void } }).connector
}

t.test('a connect cut short from inside (as the Sentinel failover detector does) is started again, not given up for good', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  for (const use of ['producer', 'worker'] as const) {
    const connection = createRedis(redis.url, use) as Redis
    t.teardown(() => { connection.disconnect() })
    connection.on('error', () => {})
    const statuses: string[] = []
    for (const status of ['connecting', 'close', 'end', 'ready']) connection.on(status, () => statuses.push(status))
    t.equal(connection.status, 'connecting')
    // What ioredis' FailoverDetector does: the connector, not the client, is disconnected mid-connect.
    connectorOf(connection).disconnect()
    await eventually(() => statuses.includes('end'), 5000, 'the connect failed and ioredis ended the connection')
    await eventually(() => connection.status === 'ready', 10_000, `${use}: connected again`)
    t.equal(await connection.ping(), 'PONG', `${use}: the connection works`)
  }
})

t.test('a connection closed on purpose stays closed, whether it was connecting or ready', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const connecting = createRedis(redis.url, 'producer') as Redis
  connecting.disconnect()
  const ready = createRedis(redis.url, 'worker') as Redis
  await eventually(() => ready.status === 'ready', 5000, 'ready')
  await ready.quit()
  await new Promise(resolve => setTimeout(resolve, 2500))
  t.equal(connecting.status, 'end', 'disconnected while connecting: ended')
  t.equal(ready.status, 'end', 'quit: ended')
})
