import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { blockingDuplicate, type RedisClient } from '../redis/redis-connection.js'
import { withRelayScripts, type RelayScripts } from './redis-scripts.js'
import { toStreamEntry, type StreamEntry } from './stored-event.js'
import { CONSUMER_GROUP } from './stream-keys.js'

/** A consumer that has held nothing for this long has gone for good: its name is dropped from the group. */
const FORGET_CONSUMER_AFTER_MS = 3_600_000
/** Most ids acknowledged by one script call (Lua's `unpack` has a limit of its own). */
const MAX_ACK = 1000

/**
 * `T`: what `handle` takes for an entry (the entry itself, or what `load`
 * made of it); `O`: what handling an entry leaves to record together with
 * its acknowledgement (`acknowledge`).
 */
export interface StreamConsumerOptions<T extends { id: string } = StreamEntry, O = never> {
  /** For acknowledgements, claims and group creation: a worker connection, which waits while Redis is away. */
  redis: RedisClient
  /** The stream. */
  key: string
  /** Entries handled at the same time. */
  concurrency: number
  /**
   * An entry a consumer has held this long without acknowledging it is taken
   * over by another (its consumer died). Must exceed the longest `handle`.
   */
  claimIdleMs: number
  /** An entry taken over more often than this keeps killing its consumers: it goes to `abandon` instead. */
  maxDeliveries: number
  /**
   * Turns the entries of one read (or claim) into what `handle` takes, in
   * one call for all of them (the event records they refer to). A rejection
   * leaves them pending, to be taken over after `claimIdleMs`.
   * @defaultValue unset: `handle` takes the entries as read (`T` must be StreamEntry)
   */
  load?: (entries: StreamEntry[]) => Promise<T[]>
  /** Handles one entry; resolving acknowledges and deletes it (with what it resolves to, see `acknowledge`). A rejection leaves it pending, to be taken over after `claimIdleMs`. */
  handle: (item: T) => Promise<O | void>
  /** Settles an entry that went past `maxDeliveries`; resolving acknowledges and deletes it. */
  abandon: (item: T, deliveries: number) => Promise<O | void>
  /**
   * Acknowledges and deletes the entries `ids` and records what handling
   * them left (`outcomes`), in one call per flush.
   * @defaultValue unset: acknowledges and deletes them (redis-scripts.ts ACK); `O` is then never
   */
  acknowledge?: (ids: string[], outcomes: O[]) => Promise<unknown>
  logger: Logger
  /** Added to every log line (app, destination). */
  labels: Record<string, string>
  /**
   * Limits what is read below `concurrency` (a paused destination, an open
   * circuit, a ramp). Unset: always `concurrency`.
   */
  gate?: StreamGate
  /**
   * How long one read waits for new entries.
   * @defaultValue 1000
   */
  blockMs?: number
}

/** What may limit a consumer's reads (destination-gate.ts implements it for a destination's stream). */
export interface StreamGate {
  /** Entries that may be in flight now; 0 stops reading. */
  allowance: () => number
  /** Resolves when the allowance may have changed, or after `ms`. */
  changed: (ms: number) => Promise<void>
  /** A read found nothing new. */
  idle: () => void
}

/**
 * Reads one Redis stream as a member of its consumer group and handles up to
 * `concurrency` entries at a time. Reads block on a connection of their own;
 * what a read returned is loaded in one call (`load`); acknowledgements of
 * entries finished in the same turn of the event loop go out together, as
 * one script that also deletes them (`XACK` + `XDEL`) and records their
 * outcomes (`acknowledge`).
 *
 * Nothing is lost when a consumer dies: what it read stays in the group's
 * pending list, and every consumer periodically takes over entries idle for
 * longer than `claimIdleMs` (`XPENDING` + `XCLAIM`), as BullMQ does with
 * stalled jobs.
 */
export class StreamConsumer<T extends { id: string } = StreamEntry, O = never> {
  /** This consumer's name in the group: unique per process and consumer. */
  readonly name = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  private readonly opts: StreamConsumerOptions<T, O>
  private readonly redis: RedisClient & RelayScripts
  private readonly blocking: RedisClient
  private readonly inFlight = new Map<string, Promise<void>>()
  /** Ids taken on and not yet acknowledged: in flight, or handled with the acknowledgement on its way. */
  private readonly held = new Set<string>()
  private readonly acking = new Set<Promise<unknown>>()
  private acks: Array<{ id: string, outcome: O | undefined }> = []
  private ackScheduled = false
  private closing = false
  private loop: Promise<void> | undefined
  private claimTimer: NodeJS.Timeout | undefined
  private recovering = false
  private slotFreed: (() => void) | undefined
  private failing = false

  constructor (opts: StreamConsumerOptions<T, O>) {
    this.opts = opts
    this.redis = withRelayScripts(opts.redis)
    this.blocking = blockingDuplicate(opts.redis)
    // The worker connection already logs each outage once.
    this.blocking.on('error', () => {})
  }

  start (): void {
    this.loop = this.run()
    const every = Math.max(1000, Math.floor(this.opts.claimIdleMs / 2))
    this.claimTimer = setInterval(() => { void this.recover() }, every)
    this.claimTimer.unref()
  }

  isRunning (): boolean {
    return this.loop !== undefined && !this.closing
  }

  /**
   * Stops reading, takes on what the last read had already moved to this
   * consumer, and waits for everything in flight, at most `timeoutMs`; what
   * is still running then stays pending and is taken over elsewhere.
   */
  async close (timeoutMs: number): Promise<boolean> {
    if (this.closing) return true
    this.closing = true
    clearInterval(this.claimTimer)
    // Cuts a blocked read short. If Redis had already answered it, those
    // entries are in this consumer's pending list: read back below.
    this.blocking.disconnect()
    this.slotFreed?.()
    // Unref'd: a deadline that is not reached must not keep a stopped process alive.
    const deadline = sleep(timeoutMs, false, { ref: false })
    const finished = await Promise.race([
      (async () => {
        // The loop may still wait for Redis (creating the group while Redis is away): within the deadline too.
        await this.loop
        await this.takeOwnPending().catch(() => {})
        while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()])
        this.flushAcks()
        await Promise.allSettled([...this.acking])
        return true
      })(),
      deadline
    ])
    if (!finished) {
      this.opts.logger.warn({ ...this.opts.labels, inFlight: this.inFlight.size }, this.inFlight.size > 0
        ? 'stream entries still in flight at shutdown; another worker takes them over'
        : 'stream consumer stopped before Redis answered (is it away?); what it holds is taken over by another worker')
    }
    return finished
  }

  private async run (): Promise<void> {
    const { key, concurrency, blockMs = 1000 } = this.opts
    await this.createGroup().catch(() => {})
    while (!this.closing) {
      const free = this.free()
      if (free <= 0) {
        const slot = new Promise<void>(resolve => { this.slotFreed = resolve })
        // Held back by the gate rather than by work in flight: its allowance may grow any time.
        await (this.opts.gate !== undefined && this.inFlight.size < concurrency ? Promise.race([slot, this.opts.gate.changed(blockMs)]) : slot)
        continue
      }
      try {
        const reply = await this.blocking.callBuffer('XREADGROUP', 'GROUP', CONSUMER_GROUP, this.name, 'COUNT', free, 'BLOCK', blockMs, 'STREAMS', key, '>') as StreamReply
        this.failing = false
        const entries = reply === null ? [] : entriesOf(reply)
        if (entries.length > 0) await this.dispatchAll(entries)
        else this.opts.gate?.idle()
      } catch (err) {
        if (this.closing) break
        if (/NOGROUP/.test((err as Error).message)) {
          // Redis lost the stream (a wipe, a failover to an empty replica): start it again.
          await this.createGroup().catch(() => {})
          continue
        }
        this.failed(err as Error, 'reading')
        await sleep(500)
      }
    }
  }

  /** Entries this consumer may take on now. */
  private free (): number {
    const { concurrency, gate } = this.opts
    return Math.min(concurrency, gate?.allowance() ?? concurrency) - this.inFlight.size
  }

  /** Loads `entries` (one call) and handles them; `abandonAt`: the deliveries of claimed ones, to abandon past `maxDeliveries`. */
  private async dispatchAll (entries: StreamEntry[], abandonAt?: Map<string, number>): Promise<void> {
    // Without `load`, T is StreamEntry (see the option).
    const items = this.opts.load === undefined ? entries as unknown as T[] : await this.opts.load(entries)
    for (const item of items) {
      const times = abandonAt?.get(item.id)
      if (times !== undefined && times > this.opts.maxDeliveries) this.abandon(item, times)
      else this.dispatch(item)
    }
  }

  private dispatch (item: T): void {
    this.take(item, async () => await this.opts.handle(item), 'stream entry not handled; it stays pending and is taken over later')
  }

  private abandon (item: T, deliveries: number): void {
    this.take(item, async () => await this.opts.abandon(item, deliveries), 'could not settle an abandoned stream entry; it stays pending')
  }

  /** Runs `work` for an entry this consumer now holds: acknowledged when it resolves, left pending when it rejects. */
  private take (entry: T, work: () => Promise<O | void>, failure: string): void {
    this.held.add(entry.id)
    const done = work().then(
      // void: a handler with nothing to record resolves to undefined.
      outcome => { this.ack(entry.id, outcome as O | undefined) },
      (err: Error) => {
        this.held.delete(entry.id)
        this.opts.logger.error({ ...this.opts.labels, entry: entry.id, err }, failure)
      }
    ).finally(() => {
      this.inFlight.delete(entry.id)
      const wake = this.slotFreed
      this.slotFreed = undefined
      wake?.()
    })
    this.inFlight.set(entry.id, done)
  }

  private ack (id: string, outcome: O | undefined): void {
    this.acks.push({ id, outcome })
    if (this.ackScheduled) return
    this.ackScheduled = true
    setImmediate(() => { this.flushAcks() })
  }

  private flushAcks (): void {
    this.ackScheduled = false
    const acks = this.acks
    this.acks = []
    for (let i = 0; i < acks.length; i += MAX_ACK) {
      const chunk = acks.slice(i, i + MAX_ACK).map(a => a.id)
      const outcomes = acks.slice(i, i + MAX_ACK).flatMap(a => a.outcome === undefined ? [] : [a.outcome])
      const acknowledged = this.opts.acknowledge === undefined ? this.redis.zrAck(this.opts.key, ...chunk) : this.opts.acknowledge(chunk, outcomes)
      const acked: Promise<unknown> = acknowledged.catch((err: Error) => {
        // Still pending: taken over and handled again later (at least once).
        this.opts.logger.warn({ ...this.opts.labels, entries: chunk.length, message: err.message }, 'could not acknowledge handled stream entries; they will be handled again')
      }).finally(() => {
        this.acking.delete(acked)
        for (const id of chunk) this.held.delete(id)
      })
      this.acking.add(acked)
    }
  }

  /** Takes over entries other consumers (dead ones) have held longer than `claimIdleMs`. */
  private async recover (): Promise<void> {
    if (this.recovering || this.closing) return
    this.recovering = true
    try {
      const { key, claimIdleMs } = this.opts
      const free = this.free()
      if (free > 0) {
        const idle = await this.redis.xpending(key, CONSUMER_GROUP, 'IDLE', claimIdleMs, '-', '+', free) as Array<[string, string, number, number]>
        const deliveries = new Map(idle.filter(([id]) => !this.held.has(id)).map(([id, , , times]) => [id, times]))
        if (deliveries.size > 0) {
          const claimed = await this.redis.callBuffer('XCLAIM', key, CONSUMER_GROUP, this.name, claimIdleMs, ...deliveries.keys()) as Array<[Buffer, Buffer[]] | null>
          const entries: StreamEntry[] = []
          const times = new Map<string, number>()
          for (const raw of claimed) {
            if (raw === null || this.closing) continue
            const entry = toStreamEntry(raw)
            times.set(entry.id, (deliveries.get(entry.id) ?? 0) + 1)
            this.opts.logger.warn({ ...this.opts.labels, entry: entry.id, deliveries: times.get(entry.id) }, 'took over a stream entry its consumer held too long (a worker died mid-delivery)')
            entries.push(entry)
          }
          if (entries.length > 0) await this.dispatchAll(entries, times)
        }
      }
      await this.forgetGoneConsumers()
    } catch (err) {
      if (!this.closing) this.failed(err as Error, 'recovering')
    } finally {
      this.recovering = false
    }
  }

  /** Entries Redis moved to this consumer that it is not handling (a read cut short at shutdown). */
  private async takeOwnPending (): Promise<void> {
    const reply = await this.redis.callBuffer('XREADGROUP', 'GROUP', CONSUMER_GROUP, this.name, 'COUNT', 10_000, 'STREAMS', this.opts.key, '0') as StreamReply
    if (reply === null) return
    const entries = entriesOf(reply).filter(entry => !this.held.has(entry.id))
    if (entries.length > 0) await this.dispatchAll(entries)
  }

  private async forgetGoneConsumers (): Promise<void> {
    const consumers = await this.redis.call('XINFO', 'CONSUMERS', this.opts.key, CONSUMER_GROUP) as unknown[][]
    for (const flat of consumers) {
      const info = new Map<unknown, unknown>()
      for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1])
      const name = String(info.get('name'))
      if (name !== this.name && Number(info.get('pending')) === 0 && Number(info.get('idle')) > FORGET_CONSUMER_AFTER_MS) {
        await this.redis.xgroup('DELCONSUMER', this.opts.key, CONSUMER_GROUP, name)
      }
    }
  }

  private async createGroup (): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.opts.key, CONSUMER_GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err
    }
  }

  /** Logs the first failure of an outage, not every retry. */
  private failed (err: Error, doing: string): void {
    if (!this.failing) this.opts.logger.warn({ ...this.opts.labels, message: err.message }, `stream consumer failed ${doing}; retrying`)
    this.failing = true
  }
}

/** Stream consumers started, checked and stopped together (as WorkerGroup does for BullMQ workers). */
export class StreamConsumerSet {
  protected readonly consumers: Array<Pick<StreamConsumer, 'start' | 'isRunning' | 'close'>> = []

  start (): void {
    for (const consumer of this.consumers) consumer.start()
  }

  isRunning (): boolean {
    return this.consumers.every(c => c.isRunning())
  }

  /** Stops reading and waits for entries in flight, at most `timeoutMs`. */
  async close (timeoutMs: number): Promise<void> {
    await Promise.all(this.consumers.map(async c => await c.close(timeoutMs)))
  }
}

/** An `XREADGROUP` reply read as buffers: one stream, its entries. */
type StreamReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null

function entriesOf (reply: NonNullable<StreamReply>): StreamEntry[] {
  return reply.flatMap(([, entries]) => entries.filter(e => e[1] !== null).map(toStreamEntry))
}
