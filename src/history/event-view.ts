import type { AppConfig } from '../config/config.js'
import { entryTime } from '../store/stream-keys.js'
import { publicEventId, type DeliveryRecord, type DeliveryStateName, type EventIndex } from '../store/delivery-record.js'

/** One destination's delivery of an event, as operators see it. */
export interface DestinationDelivery {
  destination: string
  /** `paused` while the destination is paused and the event waits; null when the record is no longer kept. */
  state: DeliveryStateName | null
  attempts: number
  lastStatus: number | null
  lastError: string | null
  firstAttemptAt: string | null
  lastAttemptAt: string | null
  deliveredAt: string | null
  /** Replays requested (`zoom-relay events replay`). */
  replays: number
  /** Why it is a dead letter (rejected, attempts_exhausted, expired, …); null unless `dead`. */
  deadLetterReason: string | null
}

/** An event in a search result: its index entry and each destination's state, never its body or headers. */
export interface EventSummary {
  /** Public id, `<app>/<ms>-<seq>`. */
  id: string
  app: string
  /** When the relay accepted it (ISO). */
  receivedAt: string
  event: string
  meeting: string | null
  uuid: string | null
  account: string | null
  destinations: DestinationDelivery[]
}

const iso = (ms: number | undefined): string | null => ms === undefined ? null : new Date(ms).toISOString()

/**
 * The destinations an event has a state for: those it was stored for, those
 * whose filter excluded it, and any configured one of its app (a replay may
 * have sent it to a destination added later: a backfill).
 */
export function eventDestinations (app: AppConfig, index: EventIndex | undefined): string[] {
  return [...new Set([...(index?.d ?? []), ...(index?.x ?? []), ...app.destinations.map(d => d.name)])]
}

/**
 * One destination's delivery from its record field (`raw`). A destination the
 * index names without a field: `filtered` when its filter excluded the event,
 * otherwise unknown (the record is gone). Undefined for a configured
 * destination the event never had.
 */
export function toDelivery (destination: string, raw: string | null | undefined, index: EventIndex | undefined, paused: boolean): DestinationDelivery | undefined {
  let record: DeliveryRecord | undefined
  if (raw !== null && raw !== undefined) {
    try { record = JSON.parse(raw) as DeliveryRecord } catch { record = undefined }
  }
  const excluded = index?.x?.includes(destination) === true
  if (record === undefined && !excluded && index?.d.includes(destination) !== true) return undefined
  const stored = record?.s ?? (excluded ? 'filtered' : null)
  return {
    destination,
    state: paused && (stored === 'pending' || stored === 'retrying') ? 'paused' : stored,
    attempts: record?.n ?? 0,
    lastStatus: record?.c ?? null,
    lastError: record?.e ?? null,
    firstAttemptAt: iso(record?.f),
    lastAttemptAt: iso(record?.l),
    deliveredAt: iso(record?.t),
    replays: record?.r ?? 0,
    deadLetterReason: record?.s === 'dead' ? record.x ?? null : null
  }
}

/** The summary of one event from its index entry and its destinations' deliveries. */
export function toSummary (app: AppConfig, id: string, index: EventIndex, deliveries: DestinationDelivery[]): EventSummary {
  return {
    id: publicEventId(app.name, id),
    app: app.name,
    receivedAt: new Date(entryTime(id)).toISOString(),
    event: index.e,
    meeting: index.mid ?? null,
    uuid: index.uuid ?? null,
    account: index.acct ?? null,
    destinations: deliveries
  }
}
