import { hash } from 'node:crypto'
import type { AppConfig } from '../config/config.js'
import { EnqueueError } from '../errors.js'
import { acceptsEvent } from './event-filter.js'
import { firstConnect, type RedisClient } from '../redis/redis-connection.js'
import { BODY_CODEC_DEFLATE_V1, compressBody } from './body-compression.js'
import { MASK_CLEANUP, MASK_EVENT, MASK_SKIP, withRelayScripts, type RelayScripts } from './redis-scripts.js'
import { storedMeta, type StoredEvent } from './stored-event.js'
import { dedupBuckets } from './dedup-window.js'
import { cleanupStreamKey, eventStreamKey } from './stream-keys.js'
import { eventRecordKey, historyKey } from './history-keys.js'
import type { EventIndex } from './delivery-record.js'
import type { EventFacts } from '../zoom/event-envelope.js'

/** What one accepted event became. */
export interface EnqueueResult {
  /** The same bytes were stored for this app within the de-duplication window: nothing stored again. */
  duplicate: boolean
  /** Destinations it is stored for. */
  stored: number
  /** Destinations whose event filter excludes it. */
  skipped: string[]
  /** Whether a deauthorization clean-up was stored with it. */
  cleanup: boolean
  /** Its id in the app's history (history-keys.ts), when a record was written. */
  eventId?: string
}

export interface EventProducerOptions {
  /** Every app this process takes webhooks for. */
  apps: readonly AppConfig[]
  /** Key prefix (REDIS_PREFIX). */
  prefix: string
  /** How long a request waits for Redis before it is answered 503 (ENQUEUE_TIMEOUT_MS). */
  timeoutMs: number
  /** De-duplication window; 0 turns de-duplication off (DEDUP_WINDOW_SECONDS). */
  dedupWindowSeconds: number
  /**
   * Keep events that no destination takes (EVENT_RETENTION_SECONDS > 0):
   * with retention 0 the history holds only what is still being delivered.
   * @defaultValue true
   */
  keepSettled?: boolean
  /**
   * Store bodies deflated (body-compression.ts, EVENT_BODY_COMPRESSION):
   * about a third of the memory, for CPU on the ack path (docs/performance.md).
   * @defaultValue true
   */
  compressBodies?: boolean
  /** When set, resolves once Redis replicas have the writes made so far (Redis `WAIT`), or rejects. */
  replicated?: () => Promise<void>
  /**
   * Most events one script call stores; a larger round is split into several calls.
   * @defaultValue 256
   */
  maxBatch?: number
  /**
   * Most body bytes one script call carries (large bodies make smaller calls), so
   * that no single command holds Redis for long.
   * @defaultValue 8 MiB
   */
  maxBatchBytes?: number
  /**
   * Told of every round once Redis has answered it (or it failed): how many
   * events it held, how long it took from being sent, and whether it was
   * stored. For the ingest metrics (relay-metrics.ts); a round Redis stored
   * after its requests were answered 503 counts as stored, with its duration.
   */
  onRound?: (round: RoundReport) => void
}

/** What one round of the group commit was. */
export interface RoundReport {
  events: number
  seconds: number
  stored: boolean
}

/** An app's keys in the order the ingest script's KEYS and masks use, and its script arguments that never change. */
interface AppStreams {
  app: AppConfig
  /** Destination streams, then the clean-up stream if any. */
  keys: string[]
  cleanup: boolean
  history: string
  /** Record keys are this and the event id. */
  recordPrefix: string
}

interface Pending {
  app: AppStreams
  body: Buffer
  meta: string
  mask: string
  dedupId: string | undefined
  /** The history index entry (EventIndex JSON). */
  index: string
  /** Names of the destinations whose filter excludes it. */
  skipped: string[]
  cleanup: boolean
  /** Set once Redis has answered for it. */
  result?: EnqueueResult
  resolve: (result: EnqueueResult) => void
  reject: (err: Error) => void
}

/** Requests stored together: everything that arrived while the previous round was on its way to Redis. */
interface Round {
  requests: Pending[]
  /** Fires `timeoutMs` after the first request joined: every request still unanswered gets a 503. */
  timer: NodeJS.Timeout
  /** Sent to Redis, not yet answered. */
  flying: boolean
  /** The timer fired: the round no longer holds the slot, and its late answers are ignored. */
  expired: boolean
}

/**
 * Stores verified events in their app's history and references to them in
 * their destinations' Redis streams (redis-scripts.ts INGEST), by group
 * commit: one round of writes is in flight at a time, and the requests that
 * arrive meanwhile make up the next round, one script call per app (one
 * round trip, one `WAIT` with REDIS_MIN_REPLICAS). When Redis is quick, a
 * round holds a request or two; under a burst it grows with the load, which
 * is far cheaper for Node and Redis than a round trip per event.
 *
 * Each request is answered only after Redis has accepted its own event. When
 * Redis refuses, or does not answer within `timeoutMs` of the request joining
 * its round, every request of the round is rejected with `EnqueueError` (→
 * 503, Zoom retries). A round Redis stored after the timeout fired is
 * delivered anyway: the retry Zoom sends then is a duplicate, which
 * at-least-once allows.
 *
 * De-duplication happens in the same script: 128 bits of the body's SHA-256
 * are looked up in the app's window (dedup-window.ts), and the entries are
 * appended only when they are new. Mark and entries are written in one
 * atomic step, so a request answered 503 leaves no mark, and Zoom's retry of
 * it is stored normally.
 */
export class EventProducer {
  private readonly redis: RedisClient & RelayScripts
  private readonly opts: EventProducerOptions
  private readonly streams = new Map<string, AppStreams>()
  private readonly dedupWindowMs: number
  private readonly maxBatch: number
  private readonly maxBatchBytes: number
  /** The round taking new requests. */
  private next: Round | undefined
  /**
   * A round is on its way to Redis. One at a time makes the fewest and largest
   * rounds; two and three were measured and made no difference (docs/performance.md).
   */
  private busy = false
  /** A flush is scheduled for the next turn of the event loop. */
  private scheduled = false
  /** Redis has answered once: from now on a lost connection fails requests at once. */
  private connectedOnce = false

  constructor (redis: RedisClient, opts: EventProducerOptions) {
    this.redis = withRelayScripts(redis)
    this.opts = opts
    this.dedupWindowMs = opts.dedupWindowSeconds * 1000
    this.maxBatch = opts.maxBatch ?? 256
    this.maxBatchBytes = opts.maxBatchBytes ?? 8 * 1_048_576
    for (const app of opts.apps) {
      const keys = app.destinations.map(destination => eventStreamKey(opts.prefix, app, destination))
      if (app.deauthorization !== undefined) keys.push(cleanupStreamKey(opts.prefix, app))
      this.streams.set(app.name, { app, keys, cleanup: app.deauthorization !== undefined, history: historyKey(opts.prefix, app), recordPrefix: eventRecordKey(opts.prefix, app, '') })
    }
  }

  /**
   * Stores `stored` once in `appName`'s history, with a reference for every
   * destination that takes its event, and, for `app_deauthorized`
   * (`deauthorization`), a record for the app's clean-up. `facts`: what the
   * history's index holds from the body (event-envelope.ts).
   */
  async enqueue (appName: string, stored: StoredEvent, deauthorization = false, facts: EventFacts = {}): Promise<EnqueueResult> {
    const app = this.streams.get(appName)
    if (app === undefined) throw new EnqueueError(`No app named ${appName} is configured.`)
    if (this.redis.status !== 'ready') this.failFastWhileDown()
    let mask = ''
    const skipped: string[] = []
    const taking: string[] = []
    for (const destination of app.app.destinations) {
      const takes = acceptsEvent(destination.events, stored.event)
      mask += takes ? MASK_EVENT : MASK_SKIP
      if (takes) taking.push(destination.name)
      else skipped.push(destination.name)
    }
    const index: EventIndex = { e: stored.event, ...facts, d: taking }
    if (skipped.length > 0) index.x = skipped
    const cleanup = app.cleanup && deauthorization
    if (app.cleanup) mask += cleanup ? MASK_CLEANUP : MASK_SKIP
    // 128 bits of the body's SHA-256: collisions are out of reach.
    const dedupId = this.dedupWindowMs > 0 ? hash('sha256', stored.body, 'buffer').subarray(0, 16).toString('base64url') : undefined
    // A clean-up stream entry carries the body alone, as Zoom sent it: compressed only without one.
    const compressed = this.opts.compressBodies === false || cleanup ? undefined : compressBody(stored.body)
    const meta = storedMeta(stored, compressed === undefined ? undefined : BODY_CODEC_DEFLATE_V1)
    const body = compressed ?? stored.body
    return await new Promise<EnqueueResult>((resolve, reject) => {
      const round = this.next ?? this.open()
      round.requests.push({ app, body, meta, mask, dedupId, index: JSON.stringify(index), skipped, cleanup, resolve, reject })
      this.pump()
    })
  }

  /**
   * Once Redis has been reached, a connection that is down answers at once:
   * requests must not queue up behind a round that is waiting for Redis to
   * come back (Zoom would wait ENQUEUE_TIMEOUT_MS for each 503).
   */
  private failFastWhileDown (): void {
    if (this.connectedOnce) throw new EnqueueError(`Redis is not reachable (connection ${this.redis.status}).`)
  }

  private open (): Round {
    const round: Round = {
      requests: [],
      flying: false,
      expired: false,
      timer: setTimeout(() => {
        round.expired = true
        const failure = new EnqueueError(`Redis did not accept the event within ${this.opts.timeoutMs} ms.`)
        for (const request of round.requests) request.reject(failure)
        if (this.next === round) this.next = undefined
        if (round.flying) {
          // A round stuck on its way to Redis gives up the slot, so the next one can try.
          this.busy = false
          this.pump()
        }
      }, this.opts.timeoutMs)
    }
    this.next = round
    return round
  }

  /** Starts the next round unless one is on its way. */
  private pump (): void {
    if (this.scheduled || this.next === undefined || this.busy) return
    this.scheduled = true
    // setImmediate: every request whose body completed in this turn of the event loop joins the round.
    setImmediate(() => { void this.flush() })
  }

  private async flush (): Promise<void> {
    this.scheduled = false
    const round = this.next
    this.next = undefined
    if (round === undefined || round.expired) return
    round.flying = true
    this.busy = true
    const sent = performance.now()
    let stored = false
    try {
      const batches = new Map<AppStreams, Pending[]>()
      for (const request of round.requests) {
        const batch = batches.get(request.app)
        if (batch === undefined) batches.set(request.app, [request])
        else batch.push(request)
      }
      if (this.redis.status !== 'ready') {
        this.failFastWhileDown()
        // Just after start-up the connection may still be on its way (the round's timer bounds the wait).
        await firstConnect(this.redis, this.opts.timeoutMs)
      }
      this.connectedOnce = true
      const writes: Array<Promise<void>> = []
      for (const [app, batch] of batches) {
        for (const chunk of this.chunks(batch)) writes.push(this.write(app, chunk))
      }
      await Promise.all(writes)
      await this.opts.replicated?.()
      stored = true
      for (const request of round.requests) request.resolve(request.result as EnqueueResult)
    } catch (err) {
      const failure = err instanceof EnqueueError ? err : new EnqueueError(`Redis refused the event: ${(err as Error).message}`, { cause: err })
      for (const request of round.requests) request.reject(failure)
    } finally {
      this.opts.onRound?.({ events: round.requests.length, seconds: (performance.now() - sent) / 1000, stored })
      clearTimeout(round.timer)
      if (!round.expired) {
        this.busy = false
        this.pump()
      }
    }
  }

  /** Splits one app's requests into script calls of at most `maxBatch` events and about `maxBatchBytes` of bodies. */
  private chunks (batch: Pending[]): Pending[][] {
    const chunks: Pending[][] = []
    let current: Pending[] = []
    let bytes = 0
    for (const request of batch) {
      if (current.length > 0 && (current.length >= this.maxBatch || bytes + request.body.length > this.maxBatchBytes)) {
        chunks.push(current)
        current = []
        bytes = 0
      }
      current.push(request)
      bytes += request.body.length
    }
    if (current.length > 0) chunks.push(current)
    return chunks
  }

  /** One script call: stores `batch` (one app's requests) and notes each one's result. */
  private async write (app: AppStreams, batch: Pending[]): Promise<void> {
    let keys = [...app.keys, app.history]
    let expireAt = 0
    if (this.dedupWindowMs > 0) {
      const buckets = dedupBuckets(this.opts.prefix, app.app, this.dedupWindowMs)
      keys = [...keys, buckets.current, buckets.previous]
      expireAt = buckets.expireAt
    }
    const destinations = app.app.destinations.map(d => d.name)
    const args: Array<string | Buffer | number> = [destinations.length, app.cleanup ? 1 : 0, batch.length, expireAt, app.recordPrefix, this.opts.keepSettled === false ? 0 : 1, ...destinations]
    for (const request of batch) args.push(request.mask, request.body, request.meta, request.dedupId ?? '', request.index)
    const results = await this.redis.zrIngest(keys.length, ...keys, ...args)
    batch.forEach((request, i) => {
      const result = results[i]
      if (result === 0) {
        request.result = { duplicate: true, stored: 0, skipped: [], cleanup: false }
        return
      }
      request.result = { duplicate: false, stored: app.app.destinations.length - request.skipped.length, skipped: request.skipped, cleanup: request.cleanup }
      if (typeof result === 'string') request.result.eventId = result
    })
  }
}
