import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { readStoredEvent, toStreamEntry, type StoredEvent } from '../../src/store/stored-event.js'
import { eventRecordKey, RECORD_BODY, RECORD_META, REF_FIELD } from '../../src/store/history-keys.js'

/** A read-side view of one relay queue, for assertions on what Redis holds. */
export function openQueue (redisUrl: string, name = '{default.recall}'): { queue: Queue, close: () => Promise<void> } {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null })
  // Tests kill Redis on purpose; ioredis would print every reconnect failure.
  connection.on('error', () => {})
  const queue = new Queue(name, { connection, prefix: 'zoom-relay' })
  queue.on('error', () => {})
  return { queue, close: async () => { await queue.close(); connection.disconnect() } }
}

/** A stored event a destination's stream refers to, with its id in the app's history. */
export type StoredEntry = StoredEvent & { id: string }

/**
 * A read-side view of one destination's stream: what the web role stored and
 * no worker has acknowledged yet (with the web role alone, everything stored).
 */
export function openStream (redisUrl: string, app = 'default', destination = 'recall'): { count: () => Promise<number>, events: () => Promise<StoredEntry[]>, close: () => Promise<void> } {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: null })
  client.on('error', () => {})
  const key = `zoom-relay:{${app}}:events:${destination}`
  return {
    count: async () => await client.xlen(key),
    events: async () => await Promise.all((await client.xrangeBuffer(key, '-', '+')).map(async raw => {
      const id = toStreamEntry(raw).fields.get(REF_FIELD)?.toString('latin1') ?? ''
      return { id, ...await readEvent(client, app, id) }
    })),
    close: async () => { client.disconnect() }
  }
}

/** The event `id` of `app` as its record in the history holds it. */
export async function readEvent (client: Redis, app: string, id: string): Promise<StoredEvent> {
  const [body, meta] = await client.hmgetBuffer(eventRecordKey('zoom-relay', { name: app }, id), RECORD_BODY, RECORD_META)
  const fields = new Map<string, Buffer>()
  if (body !== null && body !== undefined) fields.set(RECORD_BODY, body)
  if (meta !== null && meta !== undefined) fields.set(RECORD_META, meta)
  return readStoredEvent({ id, fields })
}

/** The stream of first attempts of the env-configured app's Recall destination. */
export const RECALL_STREAM = 'zoom-relay:{default}:events:recall'

/** Entries a destination's stream holds: stored and not yet acknowledged by a worker. */
export async function streamLength (client: Redis, key = RECALL_STREAM): Promise<number> {
  return await client.xlen(key)
}

/** Polls `check` until it returns true; fails after `timeoutMs`. */
export async function eventually (check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

/** Sums the samples of `name` whose labels include `labels`, from the relay's /metrics; undefined when none. */
export async function metricValue (metricsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sumMetric(await (await fetch(`${metricsUrl}/metrics`)).text(), name, labels)
}

/** Sums the samples of `name` whose labels include `labels` in one scrape's text (Prometheus exposition); undefined when none. */
export function sumMetric (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const got = Object.fromEntries([...(match[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map(m => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum = (sum ?? 0) + Number(match[4])
  }
  return sum
}
