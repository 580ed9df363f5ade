import { join } from 'node:path'
import type { Redis } from 'ioredis'
import type { Config } from '../../config/config.js'
import { redactUrl } from '../../config/load-config.js'
import { createRedis, firstConnect } from '../../queue/redis-connection.js'
import { RelayQueues } from '../../queue/relay-queues.js'
import { CliError, EXIT } from '../cli-error.js'

/**
 * The relay's Redis and queues, for operator commands: `REDIS_URL`, or the
 * socket of the embedded redis-server a running `npm start` serves.
 */
export async function openRelayQueues (config: Config): Promise<{ redis: Redis, queues: RelayQueues, close: () => Promise<void> }> {
  const url = config.redis.kind === 'url' ? config.redis.url : `unix://${join(config.redis.dataDir, 'redis.sock')}`
  const redis = createRedis(url, 'probe')
  redis.on('error', () => {})
  try {
    await firstConnect(redis, 5000)
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new CliError(`Redis at ${redactUrl(url)} is not reachable (${(err as Error).message}).${config.redis.kind === 'embedded' ? ' With REDIS_URL unset, the relay (npm start) must be running.' : ''}`, EXIT.failed)
  }
  const queues = new RelayQueues(config, redis)
  return { redis, queues, close: async () => { await queues.close(); redis.disconnect() } }
}
