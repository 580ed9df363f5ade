import type { CleanupJobData } from '../deauthorization/cleanup-job.js'
import { EnqueueError } from '../errors.js'
import type { RelayJobData } from './relay-job.js'
import type { RelayQueues } from './relay-queues.js'

/** What one accepted event became. */
export interface EnqueueResult {
  /** Destinations it is stored for. */
  stored: number
  /** Destinations whose event filter excludes it. */
  skipped: string[]
  /** Whether a deauthorization clean-up was queued with it. */
  cleanup: boolean
}

/**
 * Stores one verified event for every destination of its app that takes it
 * (and, for `app_deauthorized`, a clean-up job). Resolves only once Redis has
 * accepted every job; rejects with `EnqueueError` (→ 503, Zoom retries) when
 * Redis refuses or does not answer within `timeoutMs`.
 * A job that Redis stored after the timeout fired is delivered anyway: the
 * retry Zoom sends then is a duplicate, which at-least-once allows.
 */
export class EventProducer {
  private readonly queues: RelayQueues
  private readonly timeoutMs: number

  constructor (queues: RelayQueues, timeoutMs: number) {
    this.queues = queues
    this.timeoutMs = timeoutMs
  }

  async enqueue (appName: string, data: RelayJobData, cleanup?: Omit<CleanupJobData, 'receivedAt'>): Promise<EnqueueResult> {
    const { targets, skipped } = this.queues.forEvent(appName, data.event)
    const cleanupQueue = cleanup === undefined ? undefined : this.queues.cleanupQueue(appName)
    const adds: Array<Promise<unknown>> = targets.map(async ({ queue }) => await queue.add(data.event, data))
    if (cleanupQueue !== undefined && cleanup !== undefined) adds.push(cleanupQueue.add('app_deauthorized', { ...cleanup, receivedAt: data.receivedAt }))
    if (adds.length > 0) await this.settle(adds)
    return { stored: targets.length, skipped, cleanup: cleanupQueue !== undefined }
  }

  private async settle (adds: Array<Promise<unknown>>): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EnqueueError(`Redis did not accept the event within ${this.timeoutMs} ms.`)), this.timeoutMs)
    })
    try {
      await Promise.race([Promise.all(adds), timeout])
    } catch (err) {
      if (err instanceof EnqueueError) throw err
      throw new EnqueueError(`Redis refused the event: ${(err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
