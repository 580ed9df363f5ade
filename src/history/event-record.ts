import type { AppConfig, Config } from '../config/config.js'
import { EventQueryError, IntegrityError, UnknownEventError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { readEventRecord, type StoredEvent } from '../store/stored-event.js'
import { parsePublicEventId, type EventIndex } from '../store/delivery-record.js'
import { readIndexEntry } from './event-filters.js'
import { eventRecordKey, historyKey, RECORD_BODY, RECORD_META } from '../store/history-keys.js'

/** An event as the history holds it: index entry, record fields, stored metadata and body (when kept). */
export interface LoadedEvent {
  app: AppConfig
  /** The history id, `<ms>-<seq>`. */
  id: string
  publicId: string
  index: EventIndex | undefined
  /** Every field of the record but the body, as text. */
  fields: Record<string, string>
  /** Headers, sealed signature, event name, trace context; `body` is empty when `bodyKept` is false. */
  stored: StoredEvent
  bodyKept: boolean
}

/**
 * Reads one event by its public id (`<app>/<ms>-<seq>`): its index entry
 * (XRANGE of the one id) and its record (HGETALL). Throws `EventQueryError`
 * for an id that is not one, `UnknownEventError` when neither is kept.
 */
export async function loadEvent (config: Config, redis: RedisClient, publicId: string): Promise<LoadedEvent> {
  const parsed = parsePublicEventId(publicId)
  if (parsed === undefined) throw new EventQueryError(`"${publicId}" is not an event id: they read <app>/<ms>-<seq>, e.g. default/1764560000000-0.`)
  const app = config.apps.find(a => a.name === parsed.app)
  if (app === undefined) throw new UnknownEventError(publicId)
  const [entries, record] = await Promise.all([
    redis.xrange(historyKey(config.redisPrefix, app), parsed.id, parsed.id),
    redis.hgetallBuffer(eventRecordKey(config.redisPrefix, app, parsed.id))
  ])
  const meta = record[RECORD_META]
  if (meta === undefined) throw new UnknownEventError(publicId)
  const body = record[RECORD_BODY]
  const fields = Object.fromEntries(Object.entries(record).filter(([name]) => name !== RECORD_BODY).map(([name, value]) => [name, value.toString('utf8')]))
  let stored: StoredEvent
  try {
    stored = readEventRecord(parsed.id, body, meta)
  } catch (err) {
    if (err instanceof IntegrityError) throw new IntegrityError(`event ${publicId}: ${err.message}`)
    throw err
  }
  const [entry] = entries
  return { app, id: parsed.id, publicId, index: entry === undefined ? undefined : readIndexEntry(entry[1]), fields, stored, bodyKept: body !== undefined }
}
