import type { RedisClient } from './redis-connection.js'

/** `ok`, or why Redis did not answer PING within `timeoutMs`. */
export async function probeRedis (redis: RedisClient, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  try {
    const answer = await Promise.race([
      redis.ping(),
      new Promise<string>(resolve => { timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs) })
    ])
    return answer === 'PONG' ? 'ok' : answer
  } catch (err) {
    return (err as Error).message
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Settings of the given Redis that can lose acknowledged events, as warnings.
 * BullMQ needs `noeviction`: any other policy may silently evict queued jobs.
 */
export async function durabilityWarnings (redis: RedisClient): Promise<string[]> {
  const warnings: string[] = []
  const [, policy] = await redis.config('GET', 'maxmemory-policy') as [string, string]
  if (policy !== 'noeviction') {
    warnings.push(`Redis maxmemory-policy is "${policy}": RedisClient may evict queued events under memory pressure. Set maxmemory-policy noeviction.`)
  }
  const [, aof] = await redis.config('GET', 'appendonly') as [string, string]
  if (aof !== 'yes') {
    warnings.push('Redis has appendonly no: queued events are lost if Redis restarts. Set appendonly yes (appendfsync everysec or always).')
  }
  return warnings
}
