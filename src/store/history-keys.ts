import type { AppConfig } from '../config/config.js'

/**
 * Redis keys of the event history. Like every key of an app they carry the
 * app's name as a Redis Cluster hash tag, so the ingest script that writes an
 * event's record, its index entry and its destinations' references touches
 * one slot.
 *
 * An accepted event is stored once, whatever the number of destinations:
 * - its record, a hash `<prefix>:{<app>}:event:<id>` (RECORD_* fields below:
 *   body, metadata, destinations still unsettled, and per destination its
 *   delivery record and attempt log);
 * - its index entry in the stream `<prefix>:{<app>}:history`, whose entry id
 *   is the event id (`<ms>-<seq>`) and whose one field (INDEX_FIELD) holds
 *   what searches filter on, so that a search never reads a body;
 * - per destination that takes it, an entry in the destination's stream
 *   (stream-keys.ts) holding only the event id (REF_FIELD).
 */

/** The app's index of accepted events, oldest first: `<prefix>:{<app>}:history`. */
export function historyKey (prefix: string, app: Pick<AppConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:history`
}

/** One event's record: `<prefix>:{<app>}:event:<id>`. */
export function eventRecordKey (prefix: string, app: Pick<AppConfig, 'name'>, id: string): string {
  return `${prefix}:{${app.name}}:event:${id}`
}

/** The index entry's field: EventIndex as JSON (delivery-record.ts). */
export const INDEX_FIELD = 'i'
/** A destination stream entry's field: the event id. */
export const REF_FIELD = 'r'

/** Record field: the body, the exact bytes Zoom sent. Removed first when retention runs short (EVENT_BODY_RETENTION_SECONDS). */
export const RECORD_BODY = 'b'
/** Record field: the stored metadata (headers, sealed signature, event name, trace context), as stored-event.ts writes it. */
export const RECORD_META = 'm'
/** Record field: how many destinations have not settled the event yet (delivered, dead or filtered settle it). */
export const RECORD_UNSETTLED = '#'

/** Record field of one destination's DeliveryRecord (JSON). */
export function deliveryField (destination: string): string {
  return `d:${destination}`
}

/** Record field of one destination's attempt log: a JSON array of AttemptRecord, oldest first. */
export function attemptsField (destination: string): string {
  return `a:${destination}`
}

/** Held (SET NX PX) by the one worker process sweeping an app's history: `<prefix>:{<app>}:history:sweeper`. */
export function sweeperLockKey (prefix: string, app: Pick<AppConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:history:sweeper`
}

/**
 * Where the sweep of expired events got to (an event id), so that a long
 * unsettled head is not read again on every pass; it expires now and then,
 * and the next pass starts over from the oldest event: `<prefix>:{<app>}:history:swept`.
 */
export function sweepCursorKey (prefix: string, app: Pick<AppConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:history:swept`
}

/** Where the removal of old bodies got to (an event id): `<prefix>:{<app>}:history:bodies-swept`. */
export function bodySweepCursorKey (prefix: string, app: Pick<AppConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:history:bodies-swept`
}
