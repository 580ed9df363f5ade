import type { AppConfig, DestinationConfig, HistoryRetention } from '../config/config.js'
import { IntegrityError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { tryReadStoredEvent, type StoredEvent } from './stored-event.js'
import { MAX_LOGGED_ATTEMPTS } from './delivery-record.js'
import type { DeliveryOutcome } from './delivery-record.js'
import { eventRecordKey, historyKey, RECORD_BODY, RECORD_META } from './history-keys.js'
import { withHistoryScripts, type HistoryScripts } from './history-scripts.js'

/**
 * The workers' side of the event history (history-keys.ts): loads the
 * events the destination streams refer to and records each destination's
 * outcomes in the events' records.
 */
export class HistoryRecorder {
  private readonly redis: RedisClient & HistoryScripts
  private readonly prefix: string
  private readonly keepMs: number
  private readonly bodyKeepMs: number
  private readonly now: () => number

  /** `now`: the clock outcomes are recorded with. @defaultValue Date.now */
  constructor (opts: { redis: RedisClient, prefix: string, retention: HistoryRetention, now?: () => number }) {
    this.redis = withHistoryScripts(opts.redis)
    this.now = opts.now ?? Date.now
    this.prefix = opts.prefix
    this.keepMs = opts.retention.retentionSeconds * 1000
    this.bodyKeepMs = opts.retention.bodyRetentionSeconds * 1000
  }

  /**
   * The stored events `ids` refer to, in one call; an `IntegrityError` for
   * one whose record is missing or unreadable.
   */
  async load (app: AppConfig, ids: readonly string[]): Promise<Array<StoredEvent | IntegrityError>> {
    if (ids.length === 0) return []
    const records = await this.redis.zrLoadBuffer(historyKey(this.prefix, app), eventRecordKey(this.prefix, app, ''), ...ids)
    return ids.map((id, i) => {
      const [body, meta] = records[i] ?? [null, null]
      if (body === null && meta === null) return new IntegrityError(`event ${id} has no record (deleted from Redis?)`)
      const fields = new Map<string, Buffer>()
      if (body !== null) fields.set(RECORD_BODY, body)
      if (meta !== null) fields.set(RECORD_META, meta)
      return tryReadStoredEvent({ id, fields })
    })
  }

  /** Acknowledges and deletes `entryIds` of `destination`'s stream and records `outcomes`, in one step. */
  async settle (app: AppConfig, destination: DestinationConfig, stream: string, entryIds: readonly string[], outcomes: readonly DeliveryOutcome[]): Promise<void> {
    const args: Array<string | number> = [...this.header(app, destination), entryIds.length, ...entryIds]
    for (const outcome of outcomes) args.push(...outcomeArgs(outcome))
    await this.redis.zrSettle(stream, historyKey(this.prefix, app), ...args)
  }

  /** Records one outcome (the retry lane: one call per attempt). */
  async record (app: AppConfig, destination: DestinationConfig, outcome: DeliveryOutcome): Promise<void> {
    await this.redis.zrRecord(historyKey(this.prefix, app), ...this.header(app, destination), ...outcomeArgs(outcome))
  }

  private header (app: AppConfig, destination: DestinationConfig): Array<string | number> {
    return [eventRecordKey(this.prefix, app, ''), destination.name, this.now(), this.keepMs, this.bodyKeepMs, MAX_LOGGED_ATTEMPTS]
  }
}

function outcomeArgs (outcome: DeliveryOutcome): string[] {
  return [outcome.id, JSON.stringify(outcome.update), outcome.attempt === undefined ? '' : JSON.stringify(outcome.attempt)]
}
