import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { EventQueryError, ReplayRefusedError, UnknownEventError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import type { RelayJobData } from '../retry/relay-job.js'
import type { RelayQueues } from '../retry/relay-queues.js'
import { readEventRecord } from '../store/stored-event.js'
import { toRelayJobData } from '../retry/relay-job.js'
import { entryTime } from '../store/stream-keys.js'
import { destinationSettings } from '../retry/destination-settings.js'
import { acceptsEvent } from '../store/event-filter.js'
import { parsePublicEventId, publicEventId, type DeliveryRecord, type DeliveryStateName } from '../store/delivery-record.js'
import { readIndexEntry, type EventFilters } from './event-filters.js'
import type { EventSearch } from './event-search.js'
import { deliveryField, eventRecordKey, historyKey, RECORD_BODY, RECORD_META } from '../store/history-keys.js'
import { markReplay, undoReplayMark } from './replay-scripts.js'

/**
 * Events one replay takes at most. Each becomes a retry-queue job holding its
 * body (BullMQ stores job data as JSON), so a replay's footprint in Redis is
 * about the bytes replayed: 10,000 events of 1 KB is 10 MB more until they are
 * delivered. A larger backfill is several replays by time range (--since/--until).
 */
export const REPLAY_MAX_EVENTS = 10_000

/** Explicit public ids, or the events a search with these filters finds. */
export type ReplaySelection = { ids: string[] } | { filters: EventFilters }

export interface ReplayOptions {
  /** Say what would be replayed; send and change nothing. @defaultValue false */
  dryRun?: boolean
  /** Replay even events the destination's `events` filter excludes. @defaultValue false */
  force?: boolean
}

export interface ReplayedEvent {
  id: string
  app: string
  event: string
  receivedAt: string
  /** The destination's state before the replay; null when it never had the event (a backfill). */
  previousState: DeliveryStateName | null
  /** The retry-queue job that delivers it; null in a dry run. */
  jobId: string | null
}

export interface ReplayResult {
  dryRun: boolean
  destination: string
  replayed: number
  events: ReplayedEvent[]
  /** Events whose body retention removed between the check and the replay: not sent. */
  skipped: string[]
}

/** What a replay checks before sending anything. */
interface Candidate { app: AppConfig, destination: DestinationConfig, id: string, event: string | undefined, bodyKept: boolean, previous: DeliveryStateName | null }

/**
 * Replays stored events to one destination: a new delivery of the original
 * bytes with Zoom's headers (the signature re-derived from the Secret Token
 * and checked against the sealed one, as for any retry), as a job of the
 * destination's retry queue, counted in the event's record (`r`) and marked
 * as a replay in its attempts. Every event is checked first and one refusal
 * refuses the whole replay: nothing is half sent.
 */
export class EventReplay {
  private readonly config: Config
  private readonly redis: RedisClient
  private readonly queues: RelayQueues
  private readonly search: EventSearch

  constructor (config: Config, redis: RedisClient, queues: RelayQueues, search: EventSearch) {
    this.config = config
    this.redis = redis
    this.queues = queues
    this.search = search
  }

  async replay (selection: ReplaySelection, destination: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
    if ('ids' in selection ? selection.ids.length === 0 : Object.values(selection.filters).every(v => v === undefined)) {
      throw new EventQueryError('A replay needs event ids, or filters that choose the events (since, event, meeting, …): it never means every event.')
    }
    const ids = 'ids' in selection ? [...new Set(selection.ids)] : await this.select(selection.filters)
    if (ids.length > REPLAY_MAX_EVENTS) throw tooMany(`${ids.length} ids`)
    const candidates: Candidate[] = []
    for (let i = 0; i < ids.length; i += 100) candidates.push(...await Promise.all(ids.slice(i, i + 100).map(async id => await this.inspect(id, destination))))
    refuseAny(candidates, destination, opts.force === true)
    // Oldest first, as they were accepted: a backfill reaches the destination in order.
    candidates.sort((a, b) => entryTime(a.id) - entryTime(b.id) || Number(a.id.split('-')[1]) - Number(b.id.split('-')[1]))
    const events: ReplayedEvent[] = []
    const skipped: string[] = []
    for (const candidate of candidates) {
      const jobId = opts.dryRun === true ? null : await this.send(candidate)
      if (jobId === undefined) { skipped.push(publicEventId(candidate.app.name, candidate.id)); continue }
      events.push({
        id: publicEventId(candidate.app.name, candidate.id),
        app: candidate.app.name,
        event: candidate.event ?? '',
        receivedAt: new Date(entryTime(candidate.id)).toISOString(),
        previousState: candidate.previous,
        jobId
      })
    }
    return { dryRun: opts.dryRun === true, destination, replayed: events.length, events, skipped }
  }

  /** Every event the filters match, up to REPLAY_MAX_EVENTS (more is refused, not cut short). */
  private async select (filters: EventFilters): Promise<string[]> {
    const ids: string[] = []
    let cursor: string | undefined
    do {
      const page = await this.search.list(filters, { limit: 1000, cursor, maxExamined: 50_000 })
      ids.push(...page.events.map(e => e.id))
      if (ids.length > REPLAY_MAX_EVENTS) throw tooMany(`more than ${REPLAY_MAX_EVENTS} events`)
      cursor = page.cursor ?? undefined
    } while (cursor !== undefined)
    return ids
  }

  /** What the checks need, without the body: index entry, metadata, body size, the destination's record. */
  private async inspect (publicId: string, destinationName: string): Promise<Candidate> {
    const parsed = parsePublicEventId(publicId)
    if (parsed === undefined) throw new EventQueryError(`"${publicId}" is not an event id: they read <app>/<ms>-<seq>.`)
    const app = this.config.apps.find(a => a.name === parsed.app)
    if (app === undefined) throw new UnknownEventError(publicId)
    const destination = app.destinations.find(d => d.name === destinationName)
    if (destination === undefined) {
      throw new ReplayRefusedError('wrong_destination', `"${destinationName}" is not a destination of app "${app.name}" (event ${publicId}); its destinations: ${app.destinations.map(d => d.name).join(', ')}.`)
    }
    const key = eventRecordKey(this.config.redisPrefix, app, parsed.id)
    const [entries, [meta, record], bodyBytes] = await Promise.all([
      this.redis.xrange(historyKey(this.config.redisPrefix, app), parsed.id, parsed.id),
      this.redis.hmget(key, RECORD_META, deliveryField(destination.name)),
      this.redis.hstrlen(key, RECORD_BODY)
    ])
    if (meta === null || meta === undefined) throw new UnknownEventError(publicId)
    const [entry] = entries
    let event = entry === undefined ? undefined : readIndexEntry(entry[1])?.e
    if (event === undefined) {
      try { event = (JSON.parse(meta) as { e?: string }).e } catch {}
    }
    let previous: DeliveryStateName | null = null
    if (typeof record === 'string') {
      try { previous = (JSON.parse(record) as DeliveryRecord).s } catch {}
    }
    // HSTRLEN is 0 for a missing field; a Zoom body is never empty (the web role refuses one).
    return { app, destination, id: parsed.id, event, bodyKept: bodyBytes > 0, previous }
  }

  /** Marks the replay in the record, then adds its job; the job id, or undefined when the body went meanwhile. */
  private async send ({ app, destination, id, previous }: Candidate): Promise<string | undefined> {
    const key = eventRecordKey(this.config.redisPrefix, app, id)
    const [body, meta] = await this.redis.hmgetBuffer(key, RECORD_BODY, RECORD_META)
    if (body === null || meta === null || body === undefined || meta === undefined) return undefined
    const stored = readEventRecord(id, body, meta)
    const field = deliveryField(destination.name)
    const mark = await markReplay(this.redis, key, field)
    if (mark === undefined) return undefined
    const jobId = `replay-${id}-${mark.replays}`
    const data: RelayJobData = { ...toRelayJobData(stored, id), eventId: id, replay: true }
    const target = this.queues.all().find(q => q.app.name === app.name && q.destination.name === destination.name)
    try {
      if (target === undefined) throw new Error(`no retry queue for ${app.name}/${destination.name}`)
      await target.queue.add(stored.event, data, { jobId, attempts: destinationSettings(this.config, destination).retry.attempts })
    } catch (err) {
      await undoReplayMark(this.redis, key, field, mark)
      throw err
    }
    if (previous === 'dead') {
      // Its dead letter (the failed job the relay keys by event id) is replayed now: not a dead letter any more,
      // and `dead-letters replay` must not send it a second time.
      const deadLetter = await target.queue.getJob(id)
      if (deadLetter !== undefined && await deadLetter.isFailed()) await deadLetter.remove()
    }
    return jobId
  }
}

function tooMany (what: string): ReplayRefusedError {
  return new ReplayRefusedError('too_many', `The filters select ${what}; one replay takes at most ${REPLAY_MAX_EVENTS} (each becomes a job holding its body until delivered). Narrow it, e.g. by --since/--until, and replay in parts.`)
}

/** Throws for the first rule any candidate breaks, naming the events that break it. */
function refuseAny (candidates: Candidate[], destination: string, force: boolean): void {
  const named = (list: Candidate[]): string => {
    const ids = list.map(c => publicEventId(c.app.name, c.id))
    return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`
  }
  const gone = candidates.filter(c => !c.bodyKept)
  if (gone.length > 0) throw new ReplayRefusedError('body_gone', `The body of ${named(gone)} is no longer kept (EVENT_BODY_RETENTION_SECONDS): nothing to send. Nothing was replayed.`)
  if (!force) {
    const excluded = candidates.filter(c => c.event === undefined || !acceptsEvent(c.destination.events, c.event))
    if (excluded.length > 0) {
      throw new ReplayRefusedError('filtered', `The events filter of "${destination}" excludes ${named(excluded)}; leave them out (--event), or send them anyway with force (CLI: --force). Nothing was replayed.`)
    }
  }
}
