import { randomUUID } from 'node:crypto'
import type { RedisClient } from './redis-connection.js'
import { firstConnect } from './redis-connection.js'

/** What the watch found the last time it looked. */
export interface DataLoss {
  /** Epoch ms when this process noticed. */
  noticedAt: number
}

/**
 * Notices when Redis lost its data (restarted without its AOF, `FLUSHALL`, a
 * failover to an empty replica): a marker key written at start-up is gone or
 * was replaced. Events stored before then and not yet delivered are lost, and
 * nothing else would say so. Reports each loss once per process (`onLoss`),
 * writes a new marker, and carries on: new events are stored as usual.
 */
export class RedisDataWatch {
  private readonly redis: RedisClient
  private readonly key: string
  private readonly onLoss: (loss: DataLoss) => void
  private marker: string | undefined
  private lastLoss: DataLoss | undefined

  constructor (redis: RedisClient, opts: { prefix: string, onLoss: (loss: DataLoss) => void }) {
    this.redis = redis
    this.key = `${opts.prefix}:data-marker`
    this.onLoss = opts.onLoss
  }

  /** The last loss this process noticed, if any. */
  get loss (): DataLoss | undefined {
    return this.lastLoss
  }

  /** One look; errors (RedisClient down) are left to the readiness check, which reports them already. */
  async check (): Promise<void> {
    try {
      await firstConnect(this.redis, 10_000)
      // NX: the first process after a (re)start or wipe writes the marker; the others adopt it.
      await this.redis.set(this.key, `${new Date().toISOString()} ${randomUUID()}`, 'NX')
      const current = await this.redis.get(this.key)
      if (current === null) return
      if (this.marker !== undefined && current !== this.marker) {
        this.lastLoss = { noticedAt: Date.now() }
        this.onLoss(this.lastLoss)
      }
      this.marker = current
    } catch {}
  }
}
