import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { AppConfig, Config } from '../config/config.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { bodySweepCursorKey, eventRecordKey, historyKey, sweepCursorKey, sweeperLockKey } from './history-keys.js'
import { withHistoryScripts, type HistoryScripts } from './history-scripts.js'

export interface HistorySweeperOptions {
  config: Config
  /** Worker connection. */
  redis: RedisClient
  logger: Logger
  /** Time between passes. @defaultValue 10_000 */
  intervalMs?: number
  /** Events one script call looks at (per cursor). @defaultValue 500 */
  batch?: number
  /** Longest a pass keeps calling the script for one app before it waits for the next. @defaultValue 1000 */
  passMs?: number
  /** How often the sweep starts over from the oldest event, to remove what settled behind its cursor. @defaultValue 300_000 */
  rescanMs?: number
  /** The clock ages are measured with. @defaultValue Date.now */
  now?: () => number
}

/**
 * Removes what the event history no longer keeps (EVENT_RETENTION_*): every
 * `intervalMs`, for each app, the one worker process holding the app's
 * sweeper lock removes settled events older than the retention or beyond
 * the max count, and the bodies of settled events older than the body
 * retention (history-scripts.ts SWEEP). An event some destination has not
 * settled is never removed. Retention 0 needs no sweep: an event is removed
 * as it settles.
 */
export class HistorySweeper {
  private readonly opts: Required<Omit<HistorySweeperOptions, 'redis'>>
  private readonly redis: RedisClient & HistoryScripts
  private readonly token = randomBytes(8).toString('hex')
  private timer: NodeJS.Timeout | undefined
  private pass: Promise<void> | undefined
  private closing = false
  private failing = false

  constructor (opts: HistorySweeperOptions) {
    this.opts = { intervalMs: 10_000, batch: 500, passMs: 1000, rescanMs: 300_000, now: Date.now, ...opts }
    this.redis = withHistoryScripts(opts.redis)
  }

  start (): void {
    this.timer = setInterval(() => { void this.sweep() }, this.opts.intervalMs)
    this.timer.unref()
  }

  /** One pass over every app (also what the timer runs); resolves when it is done. */
  async sweep (): Promise<void> {
    if (this.pass !== undefined || this.closing) return await this.pass
    this.pass = (async () => {
      try {
        for (const app of this.opts.config.apps) {
          if (this.closing) break
          await this.sweepApp(app)
        }
        this.failing = false
      } catch (err) {
        if (!this.failing) this.opts.logger.warn({ message: (err as Error).message }, 'could not sweep the event history; trying again later')
        this.failing = true
      } finally {
        this.pass = undefined
      }
    })()
    await this.pass
  }

  /** Stops sweeping; waits for a pass under way (each script call is short). */
  async close (): Promise<void> {
    this.closing = true
    clearInterval(this.timer)
    await this.pass
  }

  private async sweepApp (app: AppConfig): Promise<void> {
    const { config, batch, passMs, rescanMs, intervalMs } = this.opts
    const prefix = config.redisPrefix
    const lock = sweeperLockKey(prefix, app)
    // Held for the pass; expires by itself if this process dies in it.
    if (await this.redis.set(lock, this.token, 'PX', passMs + intervalMs, 'NX') !== 'OK') return
    try {
      const { retentionSeconds, maxEvents, bodyRetentionSeconds } = config.history
      const started = Date.now()
      let removed = 0
      let bodies = 0
      for (;;) {
        const now = this.opts.now()
        const [events, dropped, more] = await this.redis.zrSweep(historyKey(prefix, app), sweepCursorKey(prefix, app), bodySweepCursorKey(prefix, app),
          eventRecordKey(prefix, app, ''), now, retentionSeconds * 1000, maxEvents, bodyRetentionSeconds * 1000, batch, rescanMs)
        removed += events
        bodies += dropped
        if (more !== 1 || this.closing || Date.now() - started >= passMs) break
      }
      if (removed > 0 || bodies > 0) this.opts.logger.debug({ app: app.name, removed, bodies }, 'event history swept')
    } finally {
      await this.redis.zrSweepRelease(lock, this.token)
    }
  }
}
