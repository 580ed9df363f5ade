import { RelayError } from '../errors.js'
import type { DeliveryStateName } from '../store/delivery-record.js'
import type { EventFilters } from '../history/event-filters.js'
import type { DeadLetterFilters } from '../operations/dead-letters.js'

/** Values from a query string, a JSON body or a form: empty strings are unset, anything unknown ignored. */
class Input {
  private readonly input: Record<string, unknown>

  constructor (input: Record<string, unknown>) {
    this.input = input
  }

  text (key: string): string | undefined {
    const value = this.input[key]
    return typeof value === 'string' && value !== '' ? value : undefined
  }

  number (key: string): number | undefined {
    const value = this.input[key]
    return typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined
  }

  /** An ISO time (a form's `datetime-local` value, without a zone, is read as UTC). */
  time (key: string): number | undefined {
    const value = this.text(key)
    if (value === undefined) return undefined
    const at = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(value) ? `${value}Z` : value)
    if (Number.isNaN(at)) throw new RelayError('ZR_ADMIN_BAD_FILTER', `${key} must be an ISO time, e.g. 2026-11-24T09:00:00Z.`, 400)
    return at
  }

  flag (key: string): boolean {
    const value = this.input[key]
    return value === true || value === 'true' || value === 'on'
  }

  ids (): string[] | undefined {
    const value = this.input.ids
    if (typeof value === 'string' && value !== '') return [value]
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : undefined
  }
}

/** Dead-letter filters from a query string or a JSON body. */
export function deadLetterFiltersFrom (input: Record<string, unknown>): DeadLetterFilters {
  const read = new Input(input)
  return { ...sharedFilters(read), status: read.number('status'), limit: read.number('limit'), ids: read.ids() }
}

/** Event history filters (and, for a list, its page) from a query string, a JSON body or the Events page's form. */
export function eventQueryFrom (input: Record<string, unknown>): { filters: EventFilters, limit: number | undefined, cursor: string | undefined } {
  const read = new Input(input)
  return {
    filters: { ...sharedFilters(read), state: read.text('state') as DeliveryStateName | undefined },
    limit: read.number('limit'),
    cursor: read.text('cursor')
  }
}

/** A replay request: `ids` or filters, the destination, `dryRun` and `force`. */
export function replayRequestFrom (input: Record<string, unknown>): { ids: string[] | undefined, filters: EventFilters, destination: string | undefined, dryRun: boolean, force: boolean } {
  const read = new Input(input)
  const { destination, ...filters } = eventQueryFrom(input).filters
  return { ids: read.ids(), filters, destination, dryRun: read.flag('dryRun'), force: read.flag('force') }
}

function sharedFilters (read: Input): Pick<EventFilters, 'app' | 'destination' | 'event' | 'meeting' | 'account' | 'since' | 'until'> {
  return {
    app: read.text('app'),
    destination: read.text('destination'),
    event: read.text('event'),
    meeting: read.text('meeting'),
    account: read.text('account'),
    since: read.time('since'),
    until: read.time('until')
  }
}
