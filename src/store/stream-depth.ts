import type { RedisClient } from '../redis/redis-connection.js'
import { CONSUMER_GROUP, entryTime } from './stream-keys.js'

/** What one stream holds. */
export interface StreamDepth {
  /** Entries no consumer has taken yet. */
  waiting: number
  /** Entries taken and not yet acknowledged (being handled, or held by a consumer that died). */
  pending: number
  /** Epoch ms of the oldest entry still there; undefined when the stream is empty. */
  oldestAt: number | undefined
}

/**
 * Reads a stream's depth in one round trip. Acknowledged entries are deleted
 * at once, so what is left is exactly what still waits: taken or not.
 */
export async function streamDepth (redis: RedisClient, key: string): Promise<StreamDepth> {
  const replies = await redis.pipeline()
    .xlen(key)
    .xpending(key, CONSUMER_GROUP)
    .xrange(key, '-', '+', 'COUNT', 1)
    .exec() ?? []
  const failed = replies[0]?.[0]
  if (failed !== null && failed !== undefined) throw failed
  const length = Number(replies[0]?.[1] ?? 0)
  // No group (nothing was ever stored, or Redis lost it): nothing is pending.
  const summary = replies[1]?.[0] === null ? replies[1]?.[1] as [number] | undefined : undefined
  const pending = Number(summary?.[0] ?? 0)
  const [first] = (replies[2]?.[1] ?? []) as Array<[string, string[]]>
  return { waiting: Math.max(0, length - pending), pending, oldestAt: first === undefined ? undefined : entryTime(first[0]) }
}
