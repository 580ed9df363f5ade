import { once } from 'node:events'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../config/config.js'
import { redactUrl } from '../config/load-config.js'

/** One Redis server (URL or Sentinel-managed master) or a Redis Cluster: BullMQ takes either. */
export type RedisClient = Redis | Cluster

/** Every way to reach Redis but the embedded one (which ends up as a URL). */
export type RedisEndpoint = Exclude<RedisTarget, { kind: 'embedded' }>

/**
 * Who uses a connection decides how it behaves while Redis is away:
 * - `producer` (web role): fail at once, so Zoom gets a 503 and retries.
 * - `worker`: wait and retry forever; BullMQ requires `maxRetriesPerRequest: null`.
 * - `probe`: health checks and admin reads; fail fast, never queue.
 */
export type ConnectionUse = 'producer' | 'worker' | 'probe'

/** How a connection behaves, whatever the topology. */
function behaviour (use: ConnectionUse): RedisOptions {
  const failFast = use !== 'worker'
  return {
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

/** ioredis options for `url`: `redis://`, `rediss://` or `unix:///path/to/socket`. */
export function redisOptions (url: string, use: ConnectionUse): RedisOptions {
  const target: RedisOptions = url.startsWith('unix://') ? { path: url.slice('unix://'.length) } : parseRedisUrl(url)
  return { ...target, ...behaviour(use) }
}

/**
 * A connection for `use`. Sentinel: ioredis asks the sentinels for the
 * current master and follows a failover (`failoverDetector`). Cluster: keys
 * are routed by slot; every queue's keys share the `{app.destination}` hash tag.
 */
export function createRedis (endpoint: RedisEndpoint | string, use: ConnectionUse): RedisClient {
  const target: RedisEndpoint = typeof endpoint === 'string' ? { kind: 'url', url: endpoint } : endpoint
  switch (target.kind) {
    case 'url':
      return reconnectWhenConnectFails(new Redis(redisOptions(target.url, use)))
    case 'sentinel':
      return reconnectWhenConnectFails(new Redis({
        ...behaviour(use),
        sentinels: target.sentinels,
        name: target.name,
        failoverDetector: true,
        sentinelRetryStrategy: (times: number) => Math.min(100 * times, 2000),
        username: target.auth.username,
        password: target.auth.password,
        ...(target.auth.tls ? { tls: {} } : {})
      }))
    case 'cluster': {
      const { retryStrategy: _perNode, ...perNode } = behaviour(use)
      return new Cluster(target.nodes, {
        enableOfflineQueue: perNode.enableOfflineQueue,
        clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
        redisOptions: { ...perNode, username: target.auth.username, password: target.auth.password, ...(target.auth.tls ? { tls: {} } : {}) }
      })
    }
  }
}

/**
 * A connection of its own for blocking reads (`XREADGROUP … BLOCK`), like
 * `redis` in every other respect. Closing it does not wait ioredis' default
 * 2 s for the socket to close: nothing is ever written on it but reads.
 */
export function blockingDuplicate (redis: RedisClient): RedisClient {
  if (redis instanceof Cluster) return redis.duplicate(undefined, { redisOptions: { ...redis.options.redisOptions, disconnectTimeout: 100 } })
  return reconnectWhenConnectFails(redis.duplicate({ disconnectTimeout: 100 }))
}

/**
 * ioredis gives a connection up for good (status `end`, no reconnect) when a
 * connect fails from inside instead of by a closed socket. It happens in
 * Sentinel mode when the failover detector disconnects the connector while a
 * reconnect is still asking the sentinels for the master (seen in the Sentinel
 * failover test; redis/ioredis#1683 reports the symptom): the web role would
 * then answer 503 until restarted. Such an end comes straight from
 * `connecting`, without `close`, and without a `disconnect()`/`QUIT` of ours
 * (ioredis' own `manuallyClosing` flag): then the connection is started again,
 * after the delay its retry strategy gives.
 */
export function reconnectWhenConnectFails (redis: Redis): Redis {
  let previous: string = redis.status
  let attempts = 0
  const follow = (status: string) => (): void => {
    const before = previous
    previous = status
    if (status === 'ready') attempts = 0
    // ioredis' flag for a close it was asked for; not in its typings.
    if (status !== 'end' || before !== 'connecting' || (redis as unknown as { manuallyClosing?: boolean }).manuallyClosing === true) return
    const delay = redis.options.retryStrategy?.(++attempts)
    const timer = setTimeout(() => {
      if (redis.status === 'end') redis.connect().catch(() => {})
    }, typeof delay === 'number' ? delay : 1000)
    timer.unref()
  }
  for (const status of ['connecting', 'connect', 'ready', 'close', 'reconnecting', 'end']) redis.on(status, follow(status))
  return redis
}

/** Where a connection goes, for logs (no password). */
export function describeEndpoint (endpoint: RedisEndpoint | string): string {
  if (typeof endpoint === 'string') return redactUrl(endpoint)
  switch (endpoint.kind) {
    case 'url': return redactUrl(endpoint.url)
    case 'sentinel': return `sentinel ${endpoint.name} via ${endpoint.sentinels.map(s => `${s.host}:${s.port}`).join(',')}`
    case 'cluster': return `cluster ${endpoint.nodes.map(n => `${n.host}:${n.port}`).join(',')}`
  }
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
export async function firstConnect (redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect') {
    await once(redis, 'ready', { signal: AbortSignal.timeout(timeoutMs) })
  }
}
