import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { validationKey } from './stream-keys.js'
import type { RedisClient } from '../redis/redis-connection.js'

export interface UrlValidationRecorderOptions {
  /** The web role's fail-fast connection: the recorder waits for it to be ready itself. */
  redis: RedisClient
  prefix: string
  logger: Logger
  /** Pause between two tries while Redis is not reachable. @defaultValue 1000 */
  retryMs?: number
}

/**
 * Records answered URL validations (app → epoch ms) for `zoom-relay status`
 * across processes. Zoom has seen the answer, so the record must not be lost
 * to a connection that is not up yet (just after start-up) or briefly away:
 * it is written once Redis takes it, tried again every `retryMs` until then,
 * and only a shutdown gives it up (with a warning).
 */
export class UrlValidationRecorder {
  private readonly redis: RedisClient
  private readonly key: string
  private readonly logger: Logger
  private readonly retryMs: number
  private readonly pending = new Map<string, number>()
  private draining: Promise<void> | undefined
  private closed = false

  constructor (opts: UrlValidationRecorderOptions) {
    this.redis = opts.redis
    this.key = validationKey(opts.prefix)
    this.logger = opts.logger
    this.retryMs = opts.retryMs ?? 1000
  }

  record (app: string, at = Date.now()): void {
    if (this.closed) return
    this.pending.set(app, at)
    this.draining ??= this.drain().finally(() => { this.draining = undefined })
  }

  private async drain (): Promise<void> {
    let failures = 0
    while (this.pending.size > 0 && !this.closed) {
      const batch = new Map(this.pending)
      this.pending.clear()
      try {
        // The connection refuses commands until ready (enableOfflineQueue: false): wait for it, bounded.
        if (this.redis.status !== 'ready') await once(this.redis, 'ready', { signal: AbortSignal.timeout(this.retryMs) })
        await this.redis.hset(this.key, ...[...batch].flatMap(([app, at]) => [app, String(at)]))
        if (failures > 0) this.logger.info({ apps: [...batch.keys()] }, 'URL validation recorded in Redis')
        failures = 0
      } catch (err) {
        // A validation answered meanwhile is newer than the one that failed.
        for (const [app, at] of batch) if (!this.pending.has(app)) this.pending.set(app, at)
        if (failures++ === 0) this.logger.warn({ apps: [...batch.keys()], message: (err as Error).message }, 'URL validation not recorded in Redis yet; trying again until it is')
        if (!this.closed) await sleep(this.retryMs, undefined, { ref: false })
      }
    }
  }

  /** Stops retrying, waiting at most `timeoutMs` for a write under way. */
  async close (timeoutMs = 2000): Promise<void> {
    this.closed = true
    if (this.draining !== undefined) await Promise.race([this.draining, sleep(timeoutMs, undefined, { ref: false })])
    if (this.pending.size > 0) this.logger.warn({ apps: [...this.pending.keys()] }, 'could not record the URL validation in Redis before shutdown; `zoom-relay status` will not show it')
  }
}
