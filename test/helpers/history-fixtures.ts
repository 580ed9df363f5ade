import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import type { Config } from '../../src/config/config.js'
import { loadConfig } from '../../src/config/load-config.js'
import { EventHistory } from '../../src/history/event-history.js'
import { RelayQueues } from '../../src/retry/relay-queues.js'
import { publicEventId, type AttemptRecord, type DeliveryRecord, type EventIndex } from '../../src/store/delivery-record.js'
import { attemptsField, deliveryField, eventRecordKey, historyKey, INDEX_FIELD, RECORD_BODY, RECORD_META, RECORD_UNSETTLED } from '../../src/store/history-keys.js'
import { pickStoredHeaders } from '../../src/ingress/forwarded-headers.js'
import { storedMeta } from '../../src/store/stored-event.js'
import { sealSignature } from '../../src/store/stored-signature.js'
import type { TestRedis } from './redis-server.js'
import { tempFile } from './temp-file.js'
import { zoomHeaders } from './zoom.js'

/**
 * One accepted event as the history stores it (src/store/history-keys.ts,
 * delivery-record.ts), written straight into Redis: the tests of what reads
 * the history do not depend on the ingest and the workers that write it.
 */
export interface HistoryFixture {
  /** @defaultValue `default` */
  app?: string
  /** The event id, `<ms>-<seq>`; one app's events must be written oldest first (it is a stream id). */
  id: string
  body: string | Buffer
  /** Per destination that took it: its delivery record and attempt log. */
  deliveries?: Record<string, { record: DeliveryRecord, attempts?: AttemptRecord[] }>
  /** Destinations whose `events` filter excluded it: named in the index only (no record field). */
  filtered?: string[]
  /** false: retention removed the body before the rest. @defaultValue true */
  bodyKept?: boolean
  /** Signs it as Zoom would with this Secret Token. */
  secret: string
  /** The relay's own trace context, as a tracing web role stores it. @defaultValue none */
  traceparent?: string
  /** @defaultValue `zoom-relay` */
  prefix?: string
}

export interface WrittenEvent {
  publicId: string
  /** The headers Zoom sent, `x-zm-signature` included. */
  headers: Record<string, string>
  body: Buffer
}

/** What the index holds about a Zoom body (EventIndex), as the ingest derives it. */
function indexOf (body: Buffer, destinations: string[], filtered: string[]): EventIndex {
  const parsed = JSON.parse(body.toString('utf8')) as { event: string, payload?: { account_id?: string, object?: { id?: string | number, uuid?: string } } }
  const index: EventIndex = { e: parsed.event, d: destinations }
  const object = parsed.payload?.object
  if (object?.id !== undefined) index.mid = String(object.id)
  if (object?.uuid !== undefined) index.uuid = object.uuid
  if (parsed.payload?.account_id !== undefined) index.acct = parsed.payload.account_id
  if (filtered.length > 0) index.x = filtered
  return index
}

/** Writes `fixture`'s record and index entry; resolves to its public id, Zoom's headers and the bytes. */
export async function writeHistoryEvent (redis: Redis, fixture: HistoryFixture): Promise<WrittenEvent> {
  const app = { name: fixture.app ?? 'default' }
  const prefix = fixture.prefix ?? 'zoom-relay'
  const body = Buffer.isBuffer(fixture.body) ? fixture.body : Buffer.from(fixture.body, 'utf8')
  const headers = zoomHeaders(fixture.secret, body)
  const deliveries = Object.entries(fixture.deliveries ?? {})
  const index = indexOf(body, deliveries.map(([name]) => name), fixture.filtered ?? [])
  const meta = storedMeta({ body, headers: pickStoredHeaders(headers), signatureSha256: sealSignature(headers['x-zm-signature'] as string), event: index.e, traceparent: fixture.traceparent })
  const fields: Record<string, string | Buffer> = {
    [RECORD_META]: meta,
    [RECORD_UNSETTLED]: String(deliveries.filter(([, d]) => d.record.s === 'pending' || d.record.s === 'retrying').length)
  }
  if (fixture.bodyKept !== false) fields[RECORD_BODY] = body
  for (const [destination, { record, attempts }] of deliveries) {
    fields[deliveryField(destination)] = JSON.stringify(record)
    if (attempts !== undefined) fields[attemptsField(destination)] = JSON.stringify(attempts)
  }
  await redis.hset(eventRecordKey(prefix, app, fixture.id), fields)
  await redis.xadd(historyKey(prefix, app), fixture.id, INDEX_FIELD, JSON.stringify(index))
  return { publicId: publicEventId(app.name, fixture.id), headers, body }
}

/** The Secret Tokens of the apps of `historyAppsFile`. */
export const SALES_SECRET = 'history-sales-secret-0123456789'
export const SUPPORT_SECRET = 'history-support-secret-0123456789'

/**
 * Two apps for the history's tests: `sales` with `crm` (meeting events only)
 * and `warehouse` (everything), `support` with `desk`; each an `http`
 * destination at the given URL (default: nothing listens). Returns the CONFIG_FILE path.
 */
export function historyAppsFile (t: Test, urls: { crm?: string, warehouse?: string, desk?: string } = {}): string {
  const url = (u: string | undefined, path: string): string => `${u ?? 'http://127.0.0.1:9'}${path}`
  return tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretToken: ${SALES_SECRET}
    destinations:
      - { type: http, name: crm, url: "${url(urls.crm, '/crm')}", events: { include: [meeting.*] } }
      - { type: http, name: warehouse, url: "${url(urls.warehouse, '/warehouse')}" }
  - name: support
    secretToken: ${SUPPORT_SECRET}
    destinations:
      - { type: http, name: desk, url: "${url(urls.desk, '/desk')}" }
`)
}

/** A Zoom body of `event` in `account`, about a meeting when given one (non-ASCII text included). */
export function zoomEvent (event: string, account: string, meeting?: { id: number, uuid?: string }): string {
  const object = meeting === undefined ? { email: 'über@example.com' } : { ...meeting, topic: 'Réunion 🚀' }
  return JSON.stringify({ event, event_ts: 1_764_000_000_000, payload: { account_id: account, object } })
}

const at = (ms: number): DeliveryRecord => ({ s: 'delivered', n: 1, c: 200, f: ms, l: ms, t: ms })

/** The trace context stored with the scenario's s1. */
export const SCENARIO_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

/** The events of `writeScenario`, by name. */
export type ScenarioEvent = 's1' | 'p1' | 's2' | 's3' | 'p2' | 's4' | 's5' | 's6'

/**
 * Eight events of the apps of `historyAppsFile`, accepted a second apart
 * from `base` (epoch ms), covering every state, filter and a body that
 * retention removed. Newest first they are s6 s5 s4 p2 s3 s2 p1 s1.
 */
export async function writeScenario (redis: Redis, base: number): Promise<Record<ScenarioEvent, WrittenEvent>> {
  const id = (offset: number): string => `${base + offset}-0`
  const sales = { app: 'sales', secret: SALES_SECRET }
  const support = { app: 'support', secret: SUPPORT_SECRET }
  const fixtures: Array<[ScenarioEvent, HistoryFixture]> = [
    ['s1', { ...sales, id: id(0), body: zoomEvent('meeting.created', 'A1', { id: 111, uuid: 'u111==' }), traceparent: SCENARIO_TRACEPARENT, deliveries: { crm: { record: at(base) }, warehouse: { record: at(base) } } }],
    // Delivered, then replayed and delivered again.
    ['p1', { ...support, id: id(500), body: zoomEvent('meeting.created', 'B1', { id: 444 }), deliveries: { desk: { record: { ...at(base + 500), n: 2, r: 1, l: base + 900, t: base + 900 }, attempts: [{ at: base + 500, c: 200, ms: 5 }, { at: base + 900, c: 200, ms: 6, r: 1 }] } } }],
    ['s2', {
      ...sales,
      id: id(1000),
      body: zoomEvent('meeting.started', 'A1', { id: 222 }),
      deliveries: {
        crm: { record: { s: 'retrying', n: 2, c: 503, e: 'answered 503', f: base + 1000, l: base + 3000 }, attempts: [{ at: base + 1000, c: 503, ms: 12, e: 'answered 503' }, { at: base + 3000, c: 503, ms: 9, e: 'answered 503' }] },
        warehouse: { record: { s: 'pending', n: 0 } }
      }
    }],
    ['s3', { ...sales, id: id(2000), body: zoomEvent('user.updated', 'A2'), filtered: ['crm'], deliveries: { warehouse: { record: { s: 'dead', n: 1, c: 400, e: 'answered 400', f: base + 2000, l: base + 2000, x: 'rejected' }, attempts: [{ at: base + 2000, c: 400, ms: 7, e: 'answered 400' }] } } }],
    ['p2', { ...support, id: id(2500), body: zoomEvent('meeting.deleted', 'B1', { id: 111 }), deliveries: { desk: { record: { s: 'dead', n: 3, c: null, e: 'timed out', f: base + 2500, l: base + 2600, x: 'attempts_exhausted' } } } }],
    ['s4', {
      ...sales,
      id: id(3000),
      body: zoomEvent('meeting.ended', 'A2', { id: 111, uuid: 'u111==' }),
      deliveries: {
        crm: { record: { s: 'pending', n: 0 } },
        warehouse: { record: { s: 'delivered', n: 2, c: 200, f: base + 3000, l: base + 4000, t: base + 4000 }, attempts: [{ at: base + 3000, c: 503, ms: 15, e: 'answered 503' }, { at: base + 4000, c: 200, ms: 11 }] }
      }
    }],
    ['s5', { ...sales, id: id(4000), body: zoomEvent('meeting.created', 'A1', { id: 333 }), bodyKept: false, deliveries: { crm: { record: at(base + 4000) }, warehouse: { record: at(base + 4000) } } }],
    // A filtered destination with a record of its own (the index's `x` alone is the other form, s3).
    ['s6', { ...sales, id: id(5000), body: zoomEvent('user.signed_in', 'A1'), deliveries: { crm: { record: { s: 'filtered', n: 0 } }, warehouse: { record: at(base + 5000) } } }]
  ]
  const written = {} as Record<ScenarioEvent, WrittenEvent>
  for (const [name, fixture] of fixtures) written[name] = await writeHistoryEvent(redis, fixture)
  return written
}

/**
 * The event history of a test Redis as the apps of `configFile` (by default
 * `historyAppsFile`'s) configure it, with the retry queues replays go to;
 * closed when `t` ends (before the Redis is stopped: register this after it).
 */
export function openHistory (t: Test, redis: TestRedis, configFile = historyAppsFile(t)): { config: Config, client: Redis, queues: RelayQueues, history: EventHistory } {
  const client = redis.client()
  const config = loadConfig({ CONFIG_FILE: configFile, REDIS_URL: redis.url })
  const queues = new RelayQueues(config, client)
  t.teardown(async () => { await queues.close() })
  return { config, client, queues, history: new EventHistory(config, client, queues) }
}
