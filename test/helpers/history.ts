import type { Redis } from 'ioredis'
import type { AttemptRecord, DeliveryRecord, EventIndex } from '../../src/store/delivery-record.js'
import { readEventRecord } from '../../src/store/stored-event.js'
import { eventRecordKey, historyKey, INDEX_FIELD, RECORD_BODY, RECORD_META, RECORD_UNSETTLED } from '../../src/store/history-keys.js'

/** An event's record as the history holds it, read back for assertions. */
export interface EventRecordView {
  /** The body as Zoom sent it (decompressed when stored so); undefined once retention removed it. */
  body: Buffer | undefined
  /** The body field as Redis holds it (deflated by default). */
  storedBody: Buffer | undefined
  meta: string | undefined
  /** Destinations not yet settled (`#`). */
  unsettled: number
  deliveries: Record<string, DeliveryRecord>
  attempts: Record<string, AttemptRecord[]>
}

/** The app's history index, oldest first. */
export async function historyIndex (client: Redis, app = 'default', prefix = 'zoom-relay'): Promise<Array<{ id: string, index: EventIndex }>> {
  const entries = await client.xrange(historyKey(prefix, { name: app }), '-', '+')
  return entries.map(([id, fields]) => ({ id, index: JSON.parse(fields[fields.indexOf(INDEX_FIELD) + 1] ?? '{}') as EventIndex }))
}

/** The record of event `id`; undefined when there is none. */
export async function readRecord (client: Redis, id: string, app = 'default', prefix = 'zoom-relay'): Promise<EventRecordView | undefined> {
  const key = eventRecordKey(prefix, { name: app }, id)
  const flat = await client.hgetallBuffer(key)
  const fields = new Map(Object.entries(flat))
  if (fields.size === 0) return undefined
  const storedBody = fields.get(RECORD_BODY)
  const meta = fields.get(RECORD_META)
  const body = storedBody === undefined || meta === undefined ? storedBody : readEventRecord(id, storedBody, meta).body
  const view: EventRecordView = { body, storedBody, meta: fields.get(RECORD_META)?.toString(), unsettled: Number(fields.get(RECORD_UNSETTLED)?.toString()), deliveries: {}, attempts: {} }
  for (const [field, value] of fields) {
    if (field.startsWith('d:')) view.deliveries[field.slice(2)] = JSON.parse(value.toString()) as DeliveryRecord
    if (field.startsWith('a:')) view.attempts[field.slice(2)] = JSON.parse(value.toString()) as AttemptRecord[]
  }
  return view
}

/** Every key of the Redis whose values hold `bytes` (strings, hashes, streams, sets, lists). */
export async function keysHolding (client: Redis, bytes: Buffer): Promise<string[]> {
  const found: string[] = []
  for (const key of await client.keys('*')) {
    const type = await client.type(key)
    let values: Buffer[] = []
    if (type === 'string') values = [await client.getBuffer(key) ?? Buffer.alloc(0)]
    else if (type === 'hash') values = Object.values(await client.hgetallBuffer(key))
    else if (type === 'stream') values = (await client.xrangeBuffer(key, '-', '+')).flatMap(([, fields]) => fields)
    else if (type === 'set') values = await client.smembersBuffer(key)
    else if (type === 'list') values = await client.lrangeBuffer(key, 0, -1)
    else if (type === 'zset') values = await client.zrangeBuffer(key, 0, -1)
    if (values.some(value => value.includes(bytes))) found.push(key)
  }
  return found
}
