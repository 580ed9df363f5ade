import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { firstConnect } from './redis-connection.js'

/**
 * Remembers, per app, the SHA-256 of every stored body for a window that
 * covers Zoom's whole retry horizon (5 + 20 + 60 min), so a re-sent or
 * doubly-subscribed event is stored once. The mark is written only after the
 * event is stored: a request answered 503 leaves no mark, and Zoom's retry of
 * it is stored normally. Losing a mark only lets a duplicate through.
 */
export class DuplicateFilter {
  private readonly redis: Redis
  private readonly prefix: string
  private readonly windowSeconds: number

  constructor (redis: Redis, opts: { prefix: string, windowSeconds: number }) {
    this.redis = redis
    this.prefix = `${opts.prefix}:dedup:`
    this.windowSeconds = opts.windowSeconds
  }

  key (app: string, body: Buffer): string {
    return `${this.prefix}${app}:${createHash('sha256').update(body).digest('hex')}`
  }

  async seen (key: string): Promise<boolean> {
    // Bounded by the producer's enqueue timeout.
    await firstConnect(this.redis, 2500)
    return await this.redis.exists(key) === 1
  }

  async remember (key: string): Promise<void> {
    await this.redis.set(key, '1', 'EX', this.windowSeconds)
  }
}
