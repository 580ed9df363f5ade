import type { Logger } from 'pino'

/** While an outage lasts, a reminder at most this often. */
export const OUTAGE_REMINDER_MS = 60_000

export interface OutageLogOptions {
  logger: Logger
  /** Added to every line: whose outage it is (a connection's use, a worker's app and destination). */
  labels: Record<string, unknown>
  /** Logged (at error level) when the outage starts. */
  lost: string
  /** Logged (at info level) when it ends. */
  restored: string
  /** Between two lines of one outage. @defaultValue OUTAGE_REMINDER_MS */
  reminderMs?: number
  now?: () => number
}

/**
 * One outage, one story in the log: a line when it starts, one when it ends,
 * and at most one reminder a minute in between, however often the reconnect
 * loop (every 2 s at most, per connection) fails meanwhile.
 */
export class OutageLog {
  private readonly opts: OutageLogOptions
  private downSince: number | undefined
  private lastLine = 0
  private failures = 0

  constructor (opts: OutageLogOptions) {
    this.opts = opts
  }

  get down (): boolean {
    return this.downSince !== undefined
  }

  failed (err?: Error): void {
    const { logger, labels, reminderMs = OUTAGE_REMINDER_MS, now = Date.now } = this.opts
    const at = now()
    this.failures++
    const cause = { code: (err as { code?: string } | undefined)?.code, message: err?.message ?? 'connection closed' }
    if (this.downSince === undefined) {
      this.downSince = at
      this.lastLine = at
      this.failures = 0
      logger.error({ ...labels, ...cause }, this.opts.lost)
    } else if (at - this.lastLine >= reminderMs) {
      this.lastLine = at
      logger.error({ ...labels, ...cause, downForMs: at - this.downSince, failuresSinceLastLine: this.failures }, `${this.opts.lost} (still)`)
      this.failures = 0
    }
  }

  recovered (): void {
    if (this.downSince === undefined) return
    const { logger, labels, now = Date.now } = this.opts
    logger.info({ ...labels, downForMs: now() - this.downSince }, this.opts.restored)
    this.downSince = undefined
  }
}
