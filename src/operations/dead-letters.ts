import type { Job } from 'bullmq'
import { UnfilteredDeadLettersError } from '../errors.js'
import { decodeBody, type DeliveryState, type RelayJobData } from '../retry/relay-job.js'
import type { DestinationQueue, RelayQueues } from '../retry/relay-queues.js'

/** Which dead letters an operation applies to; every given field must match. */
export interface DeadLetterFilters {
  app?: string
  destination?: string
  /** Zoom event name, e.g. `meeting.created`. */
  event?: string
  /** Zoom meeting id or uuid (`payload.object.id` / `payload.object.uuid`). */
  meeting?: string
  /** Zoom account id (`payload.account_id`). */
  account?: string
  /** Received at or after (epoch ms). */
  since?: number
  /** Received before (epoch ms). */
  until?: number
  /** Last HTTP status from the destination. */
  status?: number
  /** Explicit job ids (of any queue). */
  ids?: string[]
  /** At most this many, newest first. */
  limit?: number
}

/** One dead letter as operators see it: never the body or the signature. */
export interface DeadLetter {
  id: string
  app: string
  destination: string
  event: string
  meeting: string | undefined
  account: string | undefined
  receivedAt: string
  failedAt: string | undefined
  attempts: number
  lastStatus: number | null
  lastError: string
}

const PAGE = 500

/** The fields that choose dead letters; `limit` only caps how many, so on its own it chooses all of them. */
const SELECTING: ReadonlyArray<keyof DeadLetterFilters> = ['app', 'destination', 'event', 'meeting', 'account', 'since', 'until', 'status']

/** True when no filter narrows the set: a purge or replay would then take every dead letter of every queue. */
export function isUnfiltered (filters: DeadLetterFilters): boolean {
  return SELECTING.every(key => filters[key] === undefined) && (filters.ids === undefined || filters.ids.length === 0)
}

export interface BulkOptions {
  /** Needed to act on every dead letter (no filter at all): it has to be said, it is never the default. @defaultValue false */
  all?: boolean
}

/**
 * The dead-letter sets (BullMQ's failed jobs) of every app × destination:
 * list, replay and purge with the same filters. One implementation behind
 * the CLI and the admin API.
 */
export class DeadLetters {
  private readonly queues: RelayQueues

  constructor (queues: RelayQueues) {
    this.queues = queues
  }

  async list (filters: DeadLetterFilters = {}): Promise<DeadLetter[]> {
    return (await this.find(filters)).map(({ target, job }) => describe(target, job))
  }

  /**
   * Moves the matching dead letters back to their queue with fresh attempts:
   * the original bytes and headers go through the normal retry path.
   * `dryRun` only says which would be (and needs no `all`: it changes nothing).
   * Throws `UnfilteredDeadLettersError` for a real replay without filters or `all`.
   */
  async replay (filters: DeadLetterFilters, opts: BulkOptions & { dryRun?: boolean } = {}): Promise<DeadLetter[]> {
    const dryRun = opts.dryRun === true
    if (!dryRun && opts.all !== true && isUnfiltered(filters)) throw new UnfilteredDeadLettersError('replay')
    const found = await this.find(filters)
    if (!dryRun) {
      for (const { job } of found) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
    }
    return found.map(({ target, job }) => describe(target, job))
  }

  /** Deletes the matching dead letters. Throws `UnfilteredDeadLettersError` without filters or `all`. */
  async purge (filters: DeadLetterFilters, opts: BulkOptions = {}): Promise<DeadLetter[]> {
    if (opts.all !== true && isUnfiltered(filters)) throw new UnfilteredDeadLettersError('purge')
    const found = await this.find(filters)
    for (const { job } of found) await job.remove()
    return found.map(({ target, job }) => describe(target, job))
  }

  private async find (filters: DeadLetterFilters): Promise<Array<{ target: DestinationQueue, job: Job<RelayJobData> }>> {
    const found: Array<{ target: DestinationQueue, job: Job<RelayJobData> }> = []
    const limit = filters.limit ?? Number.POSITIVE_INFINITY
    const targets = this.queues.all().filter(t => (filters.app === undefined || t.app.name === filters.app) && (filters.destination === undefined || t.destination.name === filters.destination))
    for (const target of targets) {
      if (filters.ids !== undefined) {
        for (const id of filters.ids) {
          const job = await target.queue.getJob(id)
          if (job !== undefined && await job.isFailed() && matches(job, filters)) found.push({ target, job })
        }
        continue
      }
      for (let start = 0; found.length < limit; start += PAGE) {
        const page = await target.queue.getFailed(start, start + PAGE - 1)
        for (const job of page) if (matches(job, filters) && found.length < limit) found.push({ target, job })
        if (page.length < PAGE) break
      }
    }
    return found.sort((a, b) => b.job.data.receivedAt - a.job.data.receivedAt).slice(0, limit)
  }
}

interface PayloadFacts { meeting: string[], account: string | undefined }

/** The meeting id/uuid and account id in a stored body; nothing when it does not parse. */
function payloadFacts (job: Job<RelayJobData>): PayloadFacts {
  try {
    const text = decodeBody(job.data).toString('utf8').replace(/^\uFEFF/, '')
    const payload = (JSON.parse(text) as { payload?: { account_id?: unknown, object?: { id?: unknown, uuid?: unknown } } }).payload
    const meeting = [payload?.object?.id, payload?.object?.uuid].filter(v => typeof v === 'string' || typeof v === 'number').map(String)
    return { meeting, account: typeof payload?.account_id === 'string' ? payload.account_id : undefined }
  } catch {
    return { meeting: [], account: undefined }
  }
}

function matches (job: Job<RelayJobData>, f: DeadLetterFilters): boolean {
  const state = job.progress as Partial<DeliveryState> | number
  if (f.event !== undefined && job.data.event !== f.event) return false
  if (f.since !== undefined && job.data.receivedAt < f.since) return false
  if (f.until !== undefined && job.data.receivedAt >= f.until) return false
  if (f.status !== undefined && (typeof state !== 'object' || state.lastStatus !== f.status)) return false
  if (f.meeting !== undefined || f.account !== undefined) {
    const facts = payloadFacts(job)
    if (f.meeting !== undefined && !facts.meeting.includes(f.meeting)) return false
    if (f.account !== undefined && facts.account !== f.account) return false
  }
  return true
}

function describe (target: DestinationQueue, job: Job<RelayJobData>): DeadLetter {
  const state = typeof job.progress === 'object' ? job.progress as Partial<DeliveryState> : {}
  const facts = payloadFacts(job)
  return {
    id: job.id ?? '',
    app: target.app.name,
    destination: target.destination.name,
    event: job.data.event,
    meeting: facts.meeting[0],
    account: facts.account,
    receivedAt: new Date(job.data.receivedAt).toISOString(),
    failedAt: job.finishedOn === undefined ? undefined : new Date(job.finishedOn).toISOString(),
    attempts: job.attemptsMade,
    lastStatus: state.lastStatus ?? null,
    lastError: state.lastError ?? job.failedReason ?? ''
  }
}
