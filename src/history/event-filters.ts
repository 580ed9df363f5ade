import type { AppConfig, Config } from '../config/config.js'
import { EventQueryError, UnknownDestinationError } from '../errors.js'
import { acceptsEvent, EVENT_PATTERN } from '../store/event-filter.js'
import type { DeliveryStateName, EventIndex } from '../store/delivery-record.js'
import { INDEX_FIELD } from '../store/history-keys.js'

/** The states a search can ask for; `paused` is a `pending` or `retrying` one while its destination is paused. */
export const DELIVERY_STATES: readonly DeliveryStateName[] = ['pending', 'retrying', 'delivered', 'dead', 'filtered', 'paused']

/** Which events a search (or a replay by filter) takes; every given field must match. */
export interface EventFilters {
  /** Only this app's history; unset: every configured app. */
  app?: string
  /** Only events stored for (or filtered out by) this destination; `state` then applies to it alone. */
  destination?: string
  /** A Zoom event name (`meeting.created`) or a prefix pattern (`meeting.*`), as in a destination's `events` filter. */
  event?: string
  /** Zoom meeting id or uuid (`payload.object.id` / `payload.object.uuid`). */
  meeting?: string
  /** Zoom account id (`payload.account_id`). */
  account?: string
  /** A destination's state (the chosen destination's, or any destination's). */
  state?: DeliveryStateName
  /** Accepted at or after (epoch ms). */
  since?: number
  /** Accepted before (epoch ms). */
  until?: number
}

/**
 * Checks what a caller typed before any Redis work: an unknown app or
 * destination is an error (a typo must not look like "no events"), as is an
 * event pattern or a state that cannot match anything.
 */
export function checkFilters (config: Config, filters: EventFilters): AppConfig[] {
  const apps = filters.app === undefined ? config.apps : config.apps.filter(a => a.name === filters.app)
  if (apps.length === 0) throw new UnknownDestinationError(`No app "${filters.app ?? ''}" (configured: ${config.apps.map(a => a.name).join(', ')}).`)
  if (filters.destination !== undefined && !apps.some(a => a.destinations.some(d => d.name === filters.destination))) {
    throw new UnknownDestinationError(`No destination "${filters.destination}"${filters.app === undefined ? '' : ` in app "${filters.app}"`} (configured: ${apps.flatMap(a => a.destinations.map(d => `${a.name}/${d.name}`)).join(', ')}).`)
  }
  if (filters.event !== undefined && !EVENT_PATTERN.test(filters.event)) {
    throw new EventQueryError(`event must be an event name (meeting.created) or a prefix pattern (meeting.*), not "${filters.event}".`)
  }
  if (filters.state !== undefined && !DELIVERY_STATES.includes(filters.state)) {
    throw new EventQueryError(`state must be one of ${DELIVERY_STATES.join(', ')}, not "${String(filters.state)}".`)
  }
  if (filters.since !== undefined && filters.until !== undefined && filters.since >= filters.until) {
    throw new EventQueryError('since must be before until.')
  }
  return filters.destination === undefined ? apps : apps.filter(a => a.destinations.some(d => d.name === filters.destination))
}

/** Whether an index entry passes the filters that need no record: event, meeting, account. */
export function indexMatches (index: EventIndex, filters: EventFilters): boolean {
  if (filters.event !== undefined && !acceptsEvent({ include: [filters.event] }, index.e)) return false
  if (filters.meeting !== undefined && index.mid !== filters.meeting && index.uuid !== filters.meeting) return false
  return filters.account === undefined || index.acct === filters.account
}

/** An index stream entry's EventIndex (fields as XRANGE returns them); undefined when it holds none (never written by the relay). */
export function readIndexEntry (fields: readonly string[]): EventIndex | undefined {
  let raw: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === INDEX_FIELD) raw = fields[i + 1]
  if (raw === undefined) return undefined
  try {
    const index = JSON.parse(raw) as Partial<EventIndex>
    if (typeof index.e !== 'string' || !Array.isArray(index.d)) return undefined
    return index as EventIndex
  } catch {
    return undefined
  }
}
