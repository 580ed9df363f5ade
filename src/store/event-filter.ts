import type { EventFilter } from '../config/config.js'

/** An event name (`meeting.created`) or a prefix pattern (`meeting.*`, `*`). */
export const EVENT_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$/

function matches (pattern: string, event: string): boolean {
  return pattern.endsWith('*') ? event.startsWith(pattern.slice(0, -1)) : pattern === event
}

/** Whether a destination with this filter gets `event`; no filter means every event. */
export function acceptsEvent (filter: EventFilter | undefined, event: string): boolean {
  if (filter === undefined) return true
  if (filter.include !== undefined && !filter.include.some(p => matches(p, event))) return false
  return filter.exclude === undefined || !filter.exclude.some(p => matches(p, event))
}
