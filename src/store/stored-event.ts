import { IntegrityError } from '../errors.js'
import { isTraceparent } from '../tracing/traceparent.js'
import { decompressBody } from './body-compression.js'
import { RECORD_BODY, RECORD_META } from './history-keys.js'

/**
 * A verified webhook as the web role stores it in its app's history
 * (src/store/history-keys.ts: the record's body and metadata fields).
 * Redis values are binary-safe, so the body is stored as the exact bytes
 * Zoom sent, or deflated (body-compression.ts, marked in the metadata): read
 * back, it is those bytes again, bit for bit.
 */
export interface StoredEvent {
  /** The raw request body. */
  body: Buffer
  /** Forwarded headers as Zoom sent them, without `x-zm-signature` (see stored-signature.ts). */
  headers: Record<string, string>
  /** SHA-256 (base64url) of Zoom's `x-zm-signature`. */
  signatureSha256: string
  /** Zoom event name, e.g. `meeting.created`. */
  event: string
  /**
   * W3C `traceparent` of the web role's webhook span, so that the worker's
   * delivery spans join the event's trace. Set only when the web role traces;
   * Zoom's own `traceparent` stays in `headers`, forwarded as sent.
   */
  traceparent?: string
}

/** One entry read from a stream: its id (`<ms>-<seq>`) and its fields, as bytes. */
export interface StreamEntry {
  id: string
  fields: Map<string, Buffer>
}

/** Builds a `StreamEntry` from an ioredis `*Buffer` reply entry: `[id, [field, value, …]]`. */
export function toStreamEntry ([id, flat]: [Buffer, Buffer[]]): StreamEntry {
  const fields = new Map<string, Buffer>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set((flat[i] as Buffer).toString('latin1'), flat[i + 1] as Buffer)
  return { id: id.toString('latin1'), fields }
}

/** Field names of an event's body and metadata (JSON: headers, sealed signature, event name), in its record as in a clean-up stream entry (body only). */
export const BODY_FIELD = RECORD_BODY
export const META_FIELD = RECORD_META

/** What the metadata field holds: short keys, since it is stored with every event. */
interface StoredMeta {
  /** Headers. */
  h: Record<string, string>
  /** Sealed signature. */
  s: string
  /** Event name. */
  e: string
  /** Trace context (`traceparent`, 55 characters); only when the web role traces. */
  t?: string
  /** How the body field is encoded (body-compression.ts); absent: the bytes as Zoom sent them. */
  z?: number
}

/** The metadata field of `event`'s record; `bodyCodec`: how its body field is encoded, when it is. */
export function storedMeta (event: StoredEvent, bodyCodec?: number): string {
  const meta: StoredMeta = { h: event.headers, s: event.signatureSha256, e: event.event }
  if (bodyCodec !== undefined) meta.z = bodyCodec
  // Checked here, where it enters Redis: a malformed value is left out, never stored.
  if (event.traceparent !== undefined && isTraceparent(event.traceparent)) meta.t = event.traceparent
  return JSON.stringify(meta)
}

/** The event stored in `entry` (an event's record fields, keyed by its id); throws `IntegrityError` when a field is missing or unreadable. */
export function readStoredEvent (entry: StreamEntry): StoredEvent {
  const body = entry.fields.get(BODY_FIELD)
  if (body === undefined) throw new IntegrityError(`event ${entry.id} lacks the fields of a stored event`)
  return readEventRecord(entry.id, body, entry.fields.get(META_FIELD))
}

/**
 * The event in a record's body and metadata fields, the body decompressed
 * when it was stored so; a body no longer kept (`null`: retention) reads as
 * empty. Throws `IntegrityError` when the metadata is missing or unreadable.
 */
export function readEventRecord (id: string, body: Buffer | null | undefined, raw: Buffer | null | undefined): StoredEvent {
  if (raw === undefined || raw === null) throw new IntegrityError(`event ${id} lacks the fields of a stored event`)
  let meta: Partial<StoredMeta>
  try {
    meta = JSON.parse(raw.toString('utf8')) as Partial<StoredMeta>
  } catch {
    throw new IntegrityError(`event ${id} has unreadable metadata`)
  }
  if (typeof meta.h !== 'object' || meta.h === null || typeof meta.s !== 'string' || typeof meta.e !== 'string' || (meta.z !== undefined && typeof meta.z !== 'number')) {
    throw new IntegrityError(`event ${id} has incomplete metadata`)
  }
  const bytes = body === null || body === undefined ? Buffer.alloc(0) : meta.z === undefined ? body : decompressBody(body, meta.z, id)
  const stored: StoredEvent = { body: bytes, headers: meta.h, signatureSha256: meta.s, event: meta.e }
  // Only trace context: an unreadable one is dropped, the event is delivered all the same.
  if (meta.t !== undefined && isTraceparent(meta.t)) stored.traceparent = meta.t
  return stored
}

/** As readStoredEvent, with the IntegrityError returned instead of thrown (one of a batch). */
export function tryReadStoredEvent (entry: StreamEntry): StoredEvent | IntegrityError {
  try {
    return readStoredEvent(entry)
  } catch (err) {
    if (err instanceof IntegrityError) return err
    throw err
  }
}
