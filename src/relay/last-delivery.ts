import { setTimeout as sleep } from 'node:timers/promises'
import type { RedisClient } from '../redis/redis-connection.js'
import { lastDeliveryKey } from '../store/stream-keys.js'

/** Field of the last-delivery hash for one destination. */
export function lastDeliveryField (app: string, destination: string): string {
  return `${app}/${destination}`
}

/**
 * Remembers when each destination last took an event, for `zoom-relay status`
 * across processes. Written at most once per `intervalMs` per process, not
 * once per delivery: the figure is for people, to the second.
 */
export class LastDeliveryRecorder {
  private readonly redis: RedisClient
  private readonly key: string
  private readonly latest = new Map<string, number>()
  private readonly timer: NodeJS.Timeout
  private writing: Promise<void> = Promise.resolve()

  constructor (redis: RedisClient, prefix: string, intervalMs = 1000) {
    this.redis = redis
    this.key = lastDeliveryKey(prefix)
    this.timer = setInterval(() => { void this.flush() }, intervalMs)
    this.timer.unref()
  }

  record (app: string, destination: string, at = Date.now()): void {
    this.latest.set(lastDeliveryField(app, destination), at)
  }

  /** Writes what was recorded since the last flush (best effort: a figure for people). */
  async flush (): Promise<void> {
    if (this.latest.size === 0) return await this.writing
    const fields = [...this.latest].flatMap(([field, at]) => [field, String(at)])
    this.latest.clear()
    this.writing = this.writing.then(async () => { await this.redis.hset(this.key, ...fields) }).catch(() => {})
    await this.writing
  }

  /** Flushes, waiting at most 2 s (Redis may be away at shutdown). */
  async close (): Promise<void> {
    clearInterval(this.timer)
    await Promise.race([this.flush(), sleep(2000, undefined, { ref: false })])
  }
}

/** Epoch ms of the last delivery per `<app>/<destination>`. */
export async function readLastDeliveries (redis: RedisClient, prefix: string): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await redis.hgetall(lastDeliveryKey(prefix))).map(([field, ms]) => [field, Number(ms)]))
}
