import { hash } from 'node:crypto'
import { redactSecrets } from '../admin/redact.js'
import { singleAttempt, type AttemptRecord, type DeliveryRecord } from '../store/delivery-record.js'
import type { LoadedEvent } from './event-record.js'
import { eventDestinations, toDelivery, toSummary, type DestinationDelivery, type EventSummary } from './event-view.js'
import { attemptsField, deliveryField, RECORD_UNSETTLED } from '../store/history-keys.js'

/** One attempt of a destination's log, as operators see it. */
export interface AttemptView {
  at: string
  /** HTTP status; null when there was no answer (timeout, refused connection). */
  status: number | null
  durationMs: number
  error: string | null
  /** An attempt of a replay. */
  replay: boolean
}

/** `events show`: everything the history keeps about an event but its body's bytes and Zoom's signature. */
export interface EventDetail extends EventSummary {
  /** Headers as stored (Zoom's, without `x-zm-signature`); values under secret-looking names redacted. */
  headers: Record<string, string>
  /** The relay's own trace context, when the web role traced the event. */
  traceparent: string | null
  /** Size and SHA-256 (hex) of the stored body; `kept: false` once retention removed it before the rest. */
  body: { kept: true, bytes: number, sha256: string } | { kept: false, note: 'body no longer kept' }
  /** Destinations that have not settled it yet (delivered, dead or filtered settle it). */
  unsettled: number
  destinations: Array<DestinationDelivery & { attemptLog: AttemptView[] }>
}

/** The detail of a loaded event; `paused` holds `<app>/<destination>` of paused destinations. */
export function eventDetail (event: LoadedEvent, paused: ReadonlySet<string>): EventDetail {
  const { app, id, index, fields, stored } = event
  const deliveries = eventDestinations(app, index).flatMap(destination => {
    const delivery = toDelivery(destination, fields[deliveryField(destination)], index, paused.has(`${app.name}/${destination}`))
    return delivery === undefined ? [] : [{ ...delivery, attemptLog: attemptLog(fields[attemptsField(destination)], fields[deliveryField(destination)]) }]
  })
  // Without its index entry (trimmed apart), the stored metadata still names the event.
  const summary = toSummary(app, id, index ?? { e: stored.event, d: [] }, deliveries)
  return {
    ...summary,
    destinations: deliveries,
    headers: (redactSecrets({ headers: stored.headers }) as { headers: Record<string, string> }).headers,
    traceparent: stored.traceparent ?? null,
    body: event.bodyKept ? { kept: true, bytes: stored.body.length, sha256: hash('sha256', stored.body, 'hex') } : { kept: false, note: 'body no longer kept' },
    unsettled: Number(fields[RECORD_UNSETTLED] ?? 0)
  }
}

/** The attempts of a destination's log, or the one attempt its record holds instead (delivered at the first). */
function attemptLog (raw: string | undefined, record: string | undefined): AttemptView[] {
  let attempts: AttemptRecord[]
  try {
    if (raw !== undefined) attempts = JSON.parse(raw) as AttemptRecord[]
    else {
      const only = record === undefined ? undefined : singleAttempt(JSON.parse(record) as DeliveryRecord)
      attempts = only === undefined ? [] : [only]
    }
  } catch { return [] }
  if (!Array.isArray(attempts)) return []
  return attempts.map(a => ({ at: new Date(a.at).toISOString(), status: a.c ?? null, durationMs: a.ms, error: a.e ?? null, replay: a.r === 1 }))
}
