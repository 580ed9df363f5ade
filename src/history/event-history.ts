import type { Config } from '../config/config.js'
import type { RedisClient } from '../redis/redis-connection.js'
import type { RelayQueues } from '../retry/relay-queues.js'
import { eventDetail, type EventDetail } from './event-detail.js'
import type { EventFilters } from './event-filters.js'
import { loadEvent } from './event-record.js'
import { EventReplay, type ReplayOptions, type ReplayResult, type ReplaySelection } from './event-replay.js'
import { EventSearch, pausedDestinations, type EventPage, type ListOptions } from './event-search.js'

/**
 * The event history as operators use it: search, one event's detail, replay.
 * One implementation behind `zoom-relay events`, the admin API and the
 * Events page. It only reads what the ingest and the workers write
 * (history-keys.ts, delivery-record.ts), except the mark a replay leaves.
 */
export class EventHistory {
  private readonly config: Config
  private readonly redis: RedisClient
  private readonly search: EventSearch
  private readonly replays: EventReplay

  constructor (config: Config, redis: RedisClient, queues: RelayQueues) {
    this.config = config
    this.redis = redis
    this.search = new EventSearch(config, redis)
    this.replays = new EventReplay(config, redis, queues, this.search)
  }

  /** Events newest first, a page at a time (see EventSearch). */
  async list (filters: EventFilters = {}, opts: ListOptions = {}): Promise<EventPage> {
    return await this.search.list(filters, opts)
  }

  /** Everything kept about one event (`<app>/<ms>-<seq>`); throws `UnknownEventError` when nothing is. */
  async get (publicId: string): Promise<EventDetail> {
    const [event, paused] = await Promise.all([loadEvent(this.config, this.redis, publicId), pausedDestinations(this.redis, this.config)])
    return eventDetail(event, paused)
  }

  /** Replays the selection to one destination (see EventReplay). */
  async replay (selection: ReplaySelection, destination: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
    return await this.replays.replay(selection, destination, opts)
  }
}
