import type { CleanupJobData } from '../deauthorization/cleanup-job.js'
import { EnqueueError } from '../errors.js'
import type { RelayJobData } from './relay-job.js'
import type { DuplicateFilter } from './duplicate-filter.js'
import type { RelayQueues } from './relay-queues.js'

/** What one accepted event became. */
export interface EnqueueResult {
  /** The same bytes were stored for this app within the de-duplication window: nothing stored again. */
  duplicate: boolean
  /** Destinations it is stored for. */
  stored: number
  /** Destinations whose event filter excludes it. */
  skipped: string[]
  /** Whether a deauthorization clean-up was queued with it. */
  cleanup: boolean
}

/**
 * Stores one verified event for every destination of its app that takes it
 * (and, for `app_deauthorized`, a clean-up job), unless the same bytes were
 * stored for the app within the de-duplication window. Resolves only once Redis has
 * accepted every job; rejects with `EnqueueError` (→ 503, Zoom retries) when
 * Redis refuses or does not answer within `timeoutMs`.
 * A job that Redis stored after the timeout fired is delivered anyway: the
 * retry Zoom sends then is a duplicate, which at-least-once allows.
 */
export class EventProducer {
  private readonly queues: RelayQueues
  private readonly timeoutMs: number
  private readonly duplicates: DuplicateFilter | undefined
  private readonly onMarkFailed: (err: Error) => void

  constructor (queues: RelayQueues, opts: { timeoutMs: number, duplicates?: DuplicateFilter, onMarkFailed?: (err: Error) => void }) {
    this.queues = queues
    this.timeoutMs = opts.timeoutMs
    this.duplicates = opts.duplicates
    this.onMarkFailed = opts.onMarkFailed ?? (() => {})
  }

  async enqueue (appName: string, body: Buffer, data: RelayJobData, cleanup?: Omit<CleanupJobData, 'receivedAt'>): Promise<EnqueueResult> {
    const { targets, skipped } = this.queues.forEvent(appName, data.event)
    const dedupKey = this.duplicates?.key(appName, body)
    const stored = await this.withinTimeout(async () => {
      if (dedupKey !== undefined && await this.duplicates?.seen(dedupKey) === true) return false
      const cleanupQueue = cleanup === undefined ? undefined : this.queues.cleanupQueue(appName)
      const adds: Array<Promise<unknown>> = targets.map(async ({ queue }) => await queue.add(data.event, data))
      if (cleanupQueue !== undefined && cleanup !== undefined) adds.push(cleanupQueue.add('app_deauthorized', { ...cleanup, receivedAt: data.receivedAt }))
      await Promise.all(adds)
      return true
    })
    if (!stored) return { duplicate: true, stored: 0, skipped: [], cleanup: false }
    // Marked only once stored; not awaited: a lost mark costs at most a duplicate.
    if (dedupKey !== undefined) this.duplicates?.remember(dedupKey).catch(this.onMarkFailed)
    return { duplicate: false, stored: targets.length, skipped, cleanup: cleanup !== undefined && this.queues.cleanupQueue(appName) !== undefined }
  }

  private async withinTimeout<T> (work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EnqueueError(`Redis did not accept the event within ${this.timeoutMs} ms.`)), this.timeoutMs)
    })
    try {
      return await Promise.race([work(), timeout])
    } catch (err) {
      if (err instanceof EnqueueError) throw err
      throw new EnqueueError(`Redis refused the event: ${(err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
