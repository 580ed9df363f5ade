import { isUtf8 } from 'node:buffer'
import type { StoredEvent } from '../store/stored-event.js'
import { entryTime } from '../store/stream-keys.js'

/** What a failed attempt leaves on the job (as its progress), for the dead-letter tools. */
export interface DeliveryState {
  lastStatus: number | null
  lastError: string
  attempts: number
}

/**
 * A job of a destination's retry queue: an event whose first attempt, made
 * straight from the destination's stream, did not deliver it.
 * It holds the webhook's exact bytes and the headers the
 * destination needs. BullMQ stores job data as JSON, where a Buffer would
 * balloon to `{"type":"Buffer","data":[…]}`; valid UTF-8 (nearly every Zoom
 * body) is stored as the string itself, anything else as base64. Both decode
 * to the identical bytes.
 */
export interface RelayJobData {
  /** Body, encoded as `encoding` says. */
  body: string
  encoding: 'utf8' | 'base64'
  /** Lower-case header names to forward, as Zoom sent them, without `x-zm-signature`. */
  headers: Record<string, string>
  /** SHA-256 (base64url) of Zoom's `x-zm-signature`; the worker recomputes the signature itself (see stored-signature.ts). */
  signatureSha256: string
  /** Zoom event name, e.g. `meeting.created`. */
  event: string
  /** Epoch ms when the relay accepted the event. */
  receivedAt: number
  /** The stored event's `traceparent` (stored-event.ts): retries join the event's trace. @defaultValue unset */
  traceparent?: string
  /** The event's id in its app's history (src/store/history-keys.ts); absent on jobs stored before the history existed. */
  eventId?: string
  /** Set on a job an operator asked for (`zoom-relay events replay`): its attempts are logged as a replay's. @defaultValue unset */
  replay?: true
  /** Attempts made before the event became this job (from its stream). @defaultValue 0 */
  priorAttempts?: number
  /**
   * Set when the event is already settled as a dead letter (rejected, out of
   * attempts, corrupt): the job only records it in the dead-letter set,
   * nothing is sent again.
   */
  deadLetter?: { reason: DeadLetterReason, message: string, state: DeliveryState }
}

/** Why an event ended among the dead letters (a label of `zoom_relay_dead_lettered_total`). */
export type DeadLetterReason = 'rejected' | 'attempts_exhausted' | 'integrity_error' | 'abandoned' | 'expired'

export function encodeBody (body: Buffer): Pick<RelayJobData, 'body' | 'encoding'> {
  return isUtf8(body)
    ? { body: body.toString('utf8'), encoding: 'utf8' }
    : { body: body.toString('base64'), encoding: 'base64' }
}

export function decodeBody (data: Pick<RelayJobData, 'body' | 'encoding'>): Buffer {
  return Buffer.from(data.body, data.encoding)
}

/** The BullMQ job that carries a stored event (history id `eventId`) on when its first attempt did not deliver it. */
export function toRelayJobData (stored: StoredEvent, eventId: string): RelayJobData {
  const data: RelayJobData = {
    ...encodeBody(stored.body),
    headers: stored.headers,
    signatureSha256: stored.signatureSha256,
    event: stored.event,
    receivedAt: entryTime(eventId),
    eventId
  }
  if (stored.traceparent !== undefined) data.traceparent = stored.traceparent
  return data
}
