import type { Job } from 'bullmq'
import type { RedisClient } from '../redis/redis-connection.js'
import { decodeBody, type DeadLetterReason, type DeliveryState, type RelayJobData } from '../retry/relay-job.js'
import type { DestinationQueue, RelayQueues } from '../retry/relay-queues.js'
import { readEventRecord, toStreamEntry } from '../store/stored-event.js'
import { eventStreamKey } from '../store/stream-keys.js'
import { eventRecordKey, RECORD_BODY, RECORD_META, REF_FIELD } from '../store/history-keys.js'
import { acceptsEvent } from '../store/event-filter.js'

/** Where one event stands with one destination. */
export type DeliveryProgress =
  /** The destination's `events` filter does not take it: nothing is sent there. */
  | { state: 'filtered' }
  /** Stored in the destination's stream; the first attempt has not finished yet. */
  | { state: 'waiting' }
  /** The first attempt (or more) failed; a retry job is scheduled or running. */
  | { state: 'retrying', attempts: number, lastStatus: number | null, lastError: string }
  | { state: 'delivered', attempts: number }
  | { state: 'dead-lettered', reason: DeadLetterReason | 'unknown', attempts: number, lastStatus: number | null, lastError: string }

export interface DestinationDelivery {
  destination: string
  /** The event's id in its app's history (also its retry job's id), once seen. */
  entryId?: string
  progress: DeliveryProgress
}

/** How many entries and jobs one look reads at most, per destination and job state. */
const SCAN_LIMIT = 500
const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const

interface Mark {
  target: DestinationQueue
  streamKey: string
  after: string
  /** The event's id (its retry job's id). */
  entryId?: string
  /** Its destination stream entry's id, while it is there. */
  streamEntry?: string
  settled?: DeliveryProgress
}

/**
 * Follows one event, identified by its exact bytes, through the relay's Redis:
 * its entry in each destination's stream (a reference to its record in the
 * history), then (if the first attempt failed) the retry job that carries the
 * event's id. An entry leaves its stream only
 * when it was delivered, or after its retry job was added; so an entry that
 * is gone without a job was delivered at its first attempt.
 *
 * Call `before` ahead of sending: it notes each stream's last id, so that
 * only entries appended afterwards are compared with the body.
 */
export class DeliveryTracker {
  private readonly redis: RedisClient
  private readonly prefix: string
  private readonly marks: Mark[]

  private constructor (redis: RedisClient, prefix: string, marks: Mark[]) {
    this.redis = redis
    this.prefix = prefix
    this.marks = marks
  }

  static async before (redis: RedisClient, queues: RelayQueues, appName: string, prefix: string): Promise<DeliveryTracker> {
    const marks = await Promise.all(queues.all().filter(t => t.app.name === appName).map(async target => {
      const streamKey = eventStreamKey(prefix, target.app, target.destination)
      return { target, streamKey, after: await lastGeneratedId(redis, streamKey) }
    }))
    return new DeliveryTracker(redis, prefix, marks)
  }

  /** One look at every destination of the app. */
  async check (body: Buffer, event: string): Promise<DestinationDelivery[]> {
    return await Promise.all(this.marks.map(async mark => {
      const progress = mark.settled ?? await this.look(mark, body, event)
      if (isFinal(progress)) mark.settled = progress
      return { destination: mark.target.destination.name, ...(mark.entryId === undefined ? {} : { entryId: mark.entryId }), progress }
    }))
  }

  private async look (mark: Mark, body: Buffer, event: string): Promise<DeliveryProgress> {
    if (!acceptsEvent(mark.target.destination.events, event)) return { state: 'filtered' }
    // The stream first, then the jobs: a job is added before its entry is removed, never after.
    if (mark.entryId === undefined) {
      const found = await this.findEntry(mark, body)
      if (found !== undefined) {
        mark.entryId = found.eventId
        mark.streamEntry = found.entry
        return { state: 'waiting' }
      }
    } else if (mark.streamEntry !== undefined && (await this.redis.xrange(mark.streamKey, mark.streamEntry, mark.streamEntry)).length > 0) {
      return { state: 'waiting' }
    }
    const job = mark.entryId === undefined ? await this.findJob(mark, body) : await mark.target.queue.getJob(mark.entryId)
    if (job === undefined) return { state: 'delivered', attempts: 1 }
    mark.entryId = job.id
    return await jobProgress(job)
  }

  /** The entry appended after the mark whose event's body is `body`, and the event's id. */
  private async findEntry (mark: Mark, body: Buffer): Promise<{ entry: string, eventId: string } | undefined> {
    const reply = await this.redis.xrangeBuffer(mark.streamKey, `(${mark.after}`, '+', 'COUNT', SCAN_LIMIT)
    const refs = reply.map(raw => toStreamEntry(raw)).map(entry => ({ entry: entry.id, eventId: entry.fields.get(REF_FIELD)?.toString('latin1') ?? '' }))
    if (refs.length === 0) return undefined
    const pipeline = this.redis.pipeline()
    for (const { eventId } of refs) pipeline.hmgetBuffer(eventRecordKey(this.prefix, mark.target.app, eventId), RECORD_BODY, RECORD_META)
    const records = await pipeline.exec() ?? []
    return refs.find(({ eventId }, i) => {
      const [stored, meta] = (records[i]?.[1] ?? []) as Array<Buffer | null>
      if (stored === null || stored === undefined) return false
      try {
        return readEventRecord(eventId, stored, meta).body.equals(body)
      } catch {
        // Not readable (a tampered record): not the event looked for.
        return false
      }
    })
  }

  /** A retry job made from an entry appended after the mark, carrying `body`. */
  private async findJob (mark: Mark, body: Buffer): Promise<Job<RelayJobData> | undefined> {
    const jobs = await mark.target.queue.getJobs([...JOB_STATES], 0, SCAN_LIMIT - 1)
    return jobs.find(job => job?.id !== undefined && idAfter(job.id, mark.after) && decodeBody(job.data).equals(body))
  }
}

/** Delivered, dead-lettered or filtered: nothing will change without an operator. */
export function isFinal (progress: DeliveryProgress): boolean {
  return progress.state === 'delivered' || progress.state === 'dead-lettered' || progress.state === 'filtered'
}

async function jobProgress (job: Job<RelayJobData>): Promise<DeliveryProgress> {
  const state = await job.getState()
  const progress = typeof job.progress === 'object' ? job.progress as Partial<DeliveryState> : {}
  const attempts = (job.data.priorAttempts ?? 0) + job.attemptsMade
  if (state === 'completed') return { state: 'delivered', attempts }
  const lastStatus = progress.lastStatus ?? null
  const lastError = progress.lastError ?? job.failedReason ?? ''
  if (state === 'failed' || job.data.deadLetter !== undefined) {
    const reason = job.data.deadLetter?.reason ?? (typeof progress.lastStatus === 'number' && progress.lastStatus >= 400 && progress.lastStatus < 500 ? 'rejected' : 'unknown')
    return { state: 'dead-lettered', reason, attempts: progress.attempts ?? attempts, lastStatus, lastError }
  }
  return { state: 'retrying', attempts: progress.attempts ?? attempts, lastStatus, lastError }
}

/** The stream's last generated id (entries deleted since included), `0-0` when it does not exist yet. */
async function lastGeneratedId (redis: RedisClient, key: string): Promise<string> {
  try {
    const info = await redis.call('XINFO', 'STREAM', key) as unknown[]
    const at = info.indexOf('last-generated-id')
    return at === -1 ? '0-0' : String(info[at + 1])
  } catch {
    // ERR no such key: nothing was ever stored for this destination.
    return '0-0'
  }
}

/** Whether stream id `id` (`<ms>-<seq>`) comes after `mark`. */
function idAfter (id: string, mark: string): boolean {
  const [ms = 0n, seq = 0n] = id.split('-').map(part => /^\d+$/.test(part) ? BigInt(part) : -1n)
  const [markMs = 0n, markSeq = 0n] = mark.split('-').map(BigInt)
  return ms > markMs || (ms === markMs && seq > markSeq)
}
