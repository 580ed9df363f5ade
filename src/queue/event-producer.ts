import { createHash, randomBytes } from 'node:crypto'
import type { Job, JobsOptions } from 'bullmq'
import type { CleanupJobData } from '../deauthorization/cleanup-job.js'
import { EnqueueError } from '../errors.js'
import type { RelayJobData } from './relay-job.js'
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
 * (and, for `app_deauthorized`, a clean-up job). Resolves only once Redis has
 * accepted every job; rejects with `EnqueueError` (→ 503, Zoom retries) when
 * Redis refuses or does not answer within `timeoutMs`.
 * A job that Redis stored after the timeout fired is delivered anyway: the
 * retry Zoom sends then is a duplicate, which at-least-once allows.
 *
 * De-duplication is BullMQ's own, inside the script that adds the job: the
 * body's SHA-256 is the job's deduplication id for `dedupWindowSeconds`. Mark
 * and job are written in one atomic step, so a request answered 503 leaves no
 * mark, and Zoom's retry of it is stored normally.
 */
export class EventProducer {
  private readonly queues: RelayQueues
  private readonly timeoutMs: number
  private readonly dedupWindowMs: number

  private readonly replicated: (() => Promise<void>) | undefined

  /** `replicated`, when set, resolves once Redis replicas have the writes made so far (Redis `WAIT`), or rejects. */
  constructor (queues: RelayQueues, opts: { timeoutMs: number, dedupWindowSeconds: number, replicated?: () => Promise<void> }) {
    this.queues = queues
    this.timeoutMs = opts.timeoutMs
    this.dedupWindowMs = opts.dedupWindowSeconds * 1000
    this.replicated = opts.replicated
  }

  async enqueue (appName: string, body: Buffer, data: RelayJobData, cleanup?: Omit<CleanupJobData, 'receivedAt'>): Promise<EnqueueResult> {
    const { targets, skipped } = this.queues.forEvent(appName, data.event)
    const cleanupQueue = cleanup === undefined ? undefined : this.queues.cleanupQueue(appName)
    // 128 bits of the body's SHA-256: collisions are out of reach, and it is stored three times per job.
    const dedupId = this.dedupWindowMs > 0 ? createHash('sha256').update(body).digest().subarray(0, 16).toString('base64url') : undefined
    // Our own job id (96 random bits, short: it is stored several times per job):
    // BullMQ answers with the earlier job's id when it de-duplicates.
    const options = (): JobsOptions => dedupId === undefined ? {} : { jobId: randomBytes(12).toString('base64url'), deduplication: { id: dedupId, ttl: this.dedupWindowMs } }
    const added = await this.withinTimeout(async () => {
      const results = await Promise.all([
        ...targets.map(async ({ queue }) => await isNew(queue.add(data.event, data, options()))),
        ...(cleanupQueue !== undefined && cleanup !== undefined ? [isNew(cleanupQueue.add('app_deauthorized', { ...cleanup, receivedAt: data.receivedAt }, options()))] : [])
      ])
      await this.replicated?.()
      return results
    })
    if (added.length > 0 && added.every(isAdded => !isAdded)) return { duplicate: true, stored: 0, skipped: [], cleanup: false }
    return { duplicate: false, stored: targets.length, skipped, cleanup: cleanupQueue !== undefined }
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

/** Whether `add` created the job (true) or BullMQ de-duplicated it onto an earlier one (false). */
async function isNew (add: Promise<Job>): Promise<boolean> {
  const job = await add
  return job.opts.jobId === undefined || job.id === job.opts.jobId
}
