import { join } from 'node:path'
import type { Config } from '../../config/config.js'
import { createRedis, describeEndpoint, firstConnect, type RedisClient, type RedisEndpoint } from '../../redis/redis-connection.js'
import { RelayQueues } from '../../retry/relay-queues.js'
import { CliError, EXIT } from '../cli-error.js'

/**
 * The relay's Redis and queues, for operator commands: `REDIS_URL`, or the
 * socket of the embedded redis-server a running `npm start` serves.
 */
export async function openRelayQueues (config: Config): Promise<{ redis: RedisClient, queues: RelayQueues, close: () => Promise<void> }> {
  const endpoint: RedisEndpoint = config.redis.kind === 'embedded' ? { kind: 'url', url: `unix://${join(config.redis.dataDir, 'redis.sock')}` } : config.redis
  const redis = createRedis(endpoint, 'probe')
  redis.on('error', () => {})
  try {
    await firstConnect(redis, 5000)
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new CliError(`Redis at ${describeEndpoint(endpoint)} is not reachable (${(err as Error).message}).${config.redis.kind === 'embedded' ? ' With REDIS_URL unset, the relay (npm start) must be running.' : ''}`, EXIT.failed)
  }
  const queues = new RelayQueues(config, redis)
  return { redis, queues, close: async () => { await queues.close(); redis.disconnect() } }
}
