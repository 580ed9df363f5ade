import { once } from 'node:events'
import { Redis, type RedisOptions } from 'ioredis'

/**
 * Who uses a connection decides how it behaves while Redis is away:
 * - `producer` (web role): fail at once, so Zoom gets a 503 and retries.
 * - `worker`: wait and retry forever; BullMQ requires `maxRetriesPerRequest: null`.
 * - `probe`: health checks and admin reads; fail fast, never queue.
 */
export type ConnectionUse = 'producer' | 'worker' | 'probe'

/** ioredis options for `url`: `redis://`, `rediss://` or `unix:///path/to/socket`. */
export function redisOptions (url: string, use: ConnectionUse): RedisOptions {
  const target: RedisOptions = url.startsWith('unix://') ? { path: url.slice('unix://'.length) } : parseRedisUrl(url)
  const failFast = use !== 'worker'
  return {
    ...target,
    connectionName: `zoom-relay:${use}`,
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 1 : null,
    // Reconnect forever, never slower than every 2 s: recovery needs no restart.
    retryStrategy: (times: number) => Math.min(50 * times, 2000),
    // Ingress never lets a request wait on Redis past its own timeout; this keeps
    // a hung connection from piling up commands behind it.
    // (enableAutoPipelining was measured and left off: fewer round trips, but
    // less throughput here; see docs/performance.md.)
    ...(failFast ? { commandTimeout: 2000 } : {})
  }
}

export function createRedis (url: string, use: ConnectionUse): Redis {
  return new Redis(redisOptions(url, use))
}

function parseRedisUrl (raw: string): RedisOptions {
  const url = new URL(raw)
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === undefined || Number.isNaN(db) ? {} : { db }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

/**
 * A fail-fast connection refuses commands until its first connect completes;
 * just after start-up, wait for it (at most `timeoutMs`). Once it has been up,
 * an outage still fails at once.
 */
export async function firstConnect (redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect') {
    await once(redis, 'ready', { signal: AbortSignal.timeout(timeoutMs) })
  }
}
