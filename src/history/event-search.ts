import type { AppConfig, Config } from '../config/config.js'
import { EventQueryError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { readDestinationStates } from '../relay/destination-state.js'
import { checkFilters, indexMatches, readIndexEntry, type EventFilters } from './event-filters.js'
import { eventDestinations, toDelivery, toSummary, type EventSummary } from './event-view.js'
import { deliveryField, eventRecordKey, historyKey } from '../store/history-keys.js'

export interface ListOptions {
  /** At most this many events (1 to MAX_LIST_LIMIT). @defaultValue 50 */
  limit?: number
  /** From a previous page's `cursor`, with the same filters. @defaultValue the newest event */
  cursor?: string
  /** Index entries examined per call, matching or not: what bounds the work of a narrow search. @defaultValue 5000 */
  maxExamined?: number
}

export interface EventPage {
  /** Newest first. */
  events: EventSummary[]
  /** Pass it back for the next page; null when every entry in range was examined. */
  cursor: string | null
  /** Index entries examined by this call. */
  examined: number
}

export const MAX_LIST_LIMIT = 1000
const DEFAULT_LIMIT = 50
const DEFAULT_MAX_EXAMINED = 5000
/** Index entries read per XREVRANGE, with one pipelined HMGET per entry of them. */
const PAGE = 200

/** An index entry, examined: its summary when it matches the filters. */
interface Examined { id: string, match: EventSummary | undefined }

/** One app's index being read newest first. */
interface AppScan {
  app: AppConfig
  /** Exclusive upper bound of what is left (`(<id>`), or `+`/`(<until>-0` before the first read. */
  end: string
  /** The last entry consumed (handed to the result or skipped); the cursor resumes below it. */
  position: string | undefined
  buffer: Examined[]
  /** XREVRANGE has nothing more in range. */
  drained: boolean
}

/**
 * Searches the event history: each app's index stream read newest first in
 * pages (XREVRANGE, bounded by since/until), the filters on the index entry
 * applied first, then one pipelined HMGET per page for the destinations'
 * states. Several apps are merged by id (accept time). Each call examines
 * at most `maxExamined` entries and returns a cursor to go on.
 */
export class EventSearch {
  private readonly config: Config
  private readonly redis: RedisClient

  constructor (config: Config, redis: RedisClient) {
    this.config = config
    this.redis = redis
  }

  async list (filters: EventFilters = {}, opts: ListOptions = {}): Promise<EventPage> {
    const limit = opts.limit ?? DEFAULT_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new EventQueryError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, not ${limit}.`)
    const maxExamined = opts.maxExamined ?? DEFAULT_MAX_EXAMINED
    const apps = checkFilters(this.config, filters)
    const positions = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor)
    const top = filters.until === undefined ? '+' : `(${filters.until}-0`
    const scans: AppScan[] = apps
      .filter(app => positions === undefined || positions[app.name] !== undefined)
      .map(app => {
        const at = positions?.[app.name]
        return { app, end: at === undefined || at === '' ? top : `(${at}`, position: at === '' ? undefined : at, buffer: [], drained: false }
      })
    const paused = await pausedDestinations(this.redis, this.config)

    const events: EventSummary[] = []
    let examined = 0
    while (events.length < limit && examined < maxExamined) {
      await Promise.all(scans.filter(s => s.buffer.length === 0 && !s.drained).map(async s => { await this.fill(s, filters, paused, Math.min(PAGE, maxExamined - examined)) }))
      let next: AppScan | undefined
      for (const scan of scans) {
        const head = scan.buffer[0]
        if (head !== undefined && (next === undefined || newer(head.id, (next.buffer[0] as Examined).id))) next = scan
      }
      if (next === undefined) break
      const item = next.buffer.shift() as Examined
      next.position = item.id
      examined++
      if (item.match !== undefined) events.push(item.match)
    }
    const open = scans.filter(s => s.buffer.length > 0 || !s.drained)
    return { events, cursor: open.length === 0 ? null : encodeCursor(open), examined }
  }

  /** Reads the scan's next page of index entries and examines it. */
  private async fill (scan: AppScan, filters: EventFilters, paused: ReadonlySet<string>, count: number): Promise<void> {
    const bottom = filters.since === undefined ? '-' : `${filters.since}-0`
    const entries = await this.redis.xrevrange(historyKey(this.config.redisPrefix, scan.app), scan.end, bottom, 'COUNT', count)
    if (entries.length < count) scan.drained = true
    const last = entries.at(-1)
    if (last !== undefined) scan.end = `(${last[0]}`
    const candidates = entries.map(([id, fields]) => {
      const index = readIndexEntry(fields)
      return { id, index: index !== undefined && indexMatches(index, filters) ? index : undefined }
    })
    const wanted = candidates.filter(c => c.index !== undefined)
    // Every HMGET of the page in one round trip: the records share the app's hash tag (one Cluster slot).
    const pipeline = this.redis.pipeline()
    const fieldLists = wanted.map(c => {
      const destinations = eventDestinations(scan.app, c.index)
      pipeline.hmget(eventRecordKey(this.config.redisPrefix, scan.app, c.id), ...destinations.map(deliveryField))
      return destinations
    })
    const replies = wanted.length === 0 ? [] : await pipeline.exec() ?? []
    const matches = new Map<string, EventSummary>()
    wanted.forEach((c, i) => {
      const [err, values] = replies[i] ?? [null, []]
      if (err !== null && err !== undefined) throw err
      const raw = values as Array<string | null>
      const deliveries = (fieldLists[i] ?? []).flatMap((destination, j) => {
        const delivery = toDelivery(destination, raw[j], c.index, paused.has(`${scan.app.name}/${destination}`))
        return delivery === undefined ? [] : [delivery]
      })
      const chosen = filters.destination === undefined ? deliveries : deliveries.filter(d => d.destination === filters.destination)
      if (filters.destination !== undefined && chosen.length === 0) return
      if (filters.state !== undefined && !chosen.some(d => d.state === filters.state)) return
      matches.set(c.id, toSummary(scan.app, c.id, c.index as NonNullable<typeof c.index>, deliveries))
    })
    scan.buffer.push(...candidates.map(c => ({ id: c.id, match: matches.get(c.id) })))
  }
}

/** `<app>/<destination>` of every paused destination: their waiting events show as `paused`. */
export async function pausedDestinations (redis: RedisClient, config: Config): Promise<Set<string>> {
  const rows = await readDestinationStates(redis, config)
  return new Set(rows.filter(r => r.paused).map(r => `${r.app}/${r.destination}`))
}

/** Whether stream id `a` is newer than `b` (`<ms>-<seq>`). */
function newer (a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am !== bm ? am > bm : as > bs
}

const STREAM_ID = /^\d{1,16}-\d{1,16}$/

/** The cursor: per app still to read, the last id consumed ('' for none yet). Apps left out are done. */
function encodeCursor (scans: AppScan[]): string {
  return Buffer.from(JSON.stringify(Object.fromEntries(scans.map(s => [s.app.name, s.position ?? ''])))).toString('base64url')
}

function decodeCursor (cursor: string): Record<string, string> {
  try {
    const positions = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (typeof positions === 'object' && positions !== null && !Array.isArray(positions) &&
      Object.values(positions).every(v => v === '' || (typeof v === 'string' && STREAM_ID.test(v)))) return positions as Record<string, string>
  } catch {}
  throw new EventQueryError('cursor is not one this search returned; start again without it.')
}
