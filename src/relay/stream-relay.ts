import type { Logger } from 'pino'
import type { AppConfig, Config } from '../config/config.js'
import { IntegrityError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import type { RelayJobData } from '../retry/relay-job.js'
import type { DestinationQueue, RelayQueues } from '../retry/relay-queues.js'
import { tryReadStoredEvent, type StoredEvent, type StreamEntry } from '../store/stored-event.js'
import { toRelayJobData } from '../retry/relay-job.js'
import { StreamConsumer, StreamConsumerSet } from '../store/stream-consumer.js'
import { entryTime, eventStreamKey } from '../store/stream-keys.js'
import { lockDurationMs, MAX_STALLED_COUNT } from '../retry/worker-group.js'
import type { DeliveryAttempts } from './delivery-attempt.js'
import type { DestinationGates } from './destination-gate.js'
import type { LastDeliveryRecorder } from './last-delivery.js'
import { retryDelay } from '../retry/retry-policy.js'
import { attemptOutcome, deadOutcome, type DeliveryOutcome } from './delivery-outcome.js'
import type { HistoryRecorder } from '../store/history-recorder.js'
import { REF_FIELD } from '../store/history-keys.js'

export interface StreamRelayOptions {
  config: Config
  /** Worker connection: waits while Redis is away. */
  connection: RedisClient
  /** The destinations' retry queues, on a connection that waits while Redis is away. */
  retryQueues: RelayQueues
  attempts: DeliveryAttempts
  /** Pause, circuit breaker, ramp and rate limit of every destination. */
  gates: DestinationGates
  /** Loads the events the streams refer to and records their outcomes. */
  history: HistoryRecorder
  lastDelivery: LastDeliveryRecorder
  logger: Logger
}

/** A destination stream's entry with the event it refers to, loaded from the history. */
interface EventRef {
  /** The stream entry's id. */
  id: string
  /** The event's id in the app's history (its retry job's id). */
  eventId: string
  /** The stored event, or why it cannot be read (no record, unreadable metadata). */
  stored: StoredEvent | IntegrityError
}

/**
 * The first attempt of every delivery, straight from the destination's
 * stream, whose entries refer to events stored once in the app's history
 * (src/history/): no job is created for an event the destination takes at
 * once, so the common case costs Redis one read, one load and one
 * acknowledgement per batch instead of a BullMQ job's scripts. An event that
 * is not delivered becomes a job of the destination's retry queue
 * (relay-workers.ts carries on from there), or a dead letter; only then is
 * its stream entry acknowledged, together with the outcome written to the
 * event's record, so a crash in between leaves it pending, to be taken over
 * by another worker.
 */
export class StreamRelay extends StreamConsumerSet {
  private readonly opts: StreamRelayOptions

  constructor (opts: StreamRelayOptions) {
    super()
    this.opts = opts
    const { config, history } = opts
    for (const target of opts.retryQueues.all()) {
      const { app, destination } = target
      const labels = { app: app.name, destination: destination.name }
      const gate = opts.gates.of(destination)
      const key = eventStreamKey(config.redisPrefix, app, destination)
      this.consumers.push(new StreamConsumer<EventRef, DeliveryOutcome>({
        redis: opts.connection,
        key,
        concurrency: gate.settings.concurrency,
        gate: { allowance: () => gate.allowance('stream'), changed: async ms => { await gate.changed(ms) }, idle: () => { gate.streamIdle() } },
        claimIdleMs: lockDurationMs(config),
        maxDeliveries: MAX_STALLED_COUNT + 1,
        load: async entries => await this.load(app, entries),
        handle: async ref => await this.deliver(target, ref),
        abandon: async (ref, deliveries) => await this.abandon(target, ref, deliveries),
        acknowledge: async (ids, outcomes) => { await history.settle(app, destination, key, ids, outcomes) },
        logger: opts.logger,
        labels
      }))
    }
  }

  /**
   * The events `entries` refer to, in one call. An entry stored before the
   * history existed holds the event itself: read as it is, its stream entry
   * id standing in for the event id (it has no record to update).
   */
  private async load (app: AppConfig, entries: StreamEntry[]): Promise<EventRef[]> {
    const refs = entries.map(entry => entry.fields.get(REF_FIELD)?.toString('latin1'))
    const known = refs.filter((id): id is string => id !== undefined)
    const loaded = await this.opts.history.load(app, known)
    const byId = new Map(known.map((id, i) => [id, loaded[i] as StoredEvent | IntegrityError]))
    return entries.map((entry, i) => {
      const eventId = refs[i]
      if (eventId !== undefined) return { id: entry.id, eventId, stored: byId.get(eventId) as StoredEvent | IntegrityError }
      return { id: entry.id, eventId: entry.id, stored: tryReadStoredEvent(entry) }
    })
  }

  private async deliver ({ app, destination, queue }: DestinationQueue, ref: EventRef): Promise<DeliveryOutcome | undefined> {
    const { attempts } = this.opts
    const gate = this.opts.gates.of(destination)
    const { retry } = gate.settings
    const { eventId, stored } = ref
    if (stored instanceof IntegrityError) {
      // Only tampering, a wipe (or a bug) loses or spoils a record: nothing can be sent or kept for replay.
      const result = attempts.corrupt({ app, destination, id: eventId, attempt: 1 }, stored.message)
      return result.outcome === 'dead-letter' ? deadOutcome(eventId, result.reason, result.message) : undefined
    }
    // Read within the gate's allowance; only a pause or an opening circuit since then refuses it,
    // and the attempt goes ahead as one of those already in flight when it happened.
    const admission = gate.admit('stream') ?? { probe: false }
    if (gate.expired(entryTime(eventId), admission)) {
      await gate.finished(admission, 'not_sent')
      const message = attempts.expired({ app, destination, id: eventId }, gate.settings.horizonMs)
      await this.settle(queue, toRelayJobData(stored, eventId), { reason: 'expired', message, state: { lastStatus: null, lastError: message, attempts: 0 } })
      return deadOutcome(eventId, 'expired', message)
    }
    await gate.rateToken()
    const { result, startedAt } = await gate.send('stream', async () => await attempts.attempt({ app, destination, id: eventId, attempt: 1, finalAttempt: retry.attempts <= 1, timeoutMs: gate.settings.timeoutMs }, stored))
    const outcome = attemptOutcome(eventId, result, startedAt, Date.now() - startedAt)
    await gate.finished(admission, result)
    if (result.outcome === 'delivered') {
      this.opts.lastDelivery.record(app.name, destination.name)
      return outcome
    }
    // The event id is the job id: taking the entry over after a crash adds no second job.
    const data = toRelayJobData(stored, eventId)
    if (result.outcome === 'retry') {
      await queue.add(stored.event, { ...data, priorAttempts: 1 }, {
        jobId: eventId,
        delay: retryDelay(1, retry, result.error.retryAfterMs),
        attempts: retry.attempts - 1
      })
    } else {
      await this.settle(queue, data, { reason: result.reason, message: result.message, state: result.state })
    }
    return outcome
  }

  /** An entry that kept killing the workers holding it: a dead letter, never sent again automatically. */
  private async abandon ({ app, destination, queue }: DestinationQueue, ref: EventRef, deliveries: number): Promise<DeliveryOutcome | undefined> {
    const message = `Taken over ${deliveries - 1} times from workers that stopped while holding it; given up.`
    this.opts.logger.error({ app: app.name, destination: destination.name, id: ref.eventId, entry: ref.id, deliveries }, 'stream entry abandoned: %s', message)
    if (ref.stored instanceof IntegrityError) return undefined
    this.opts.attempts.abandoned(app, destination)
    await this.settle(queue, toRelayJobData(ref.stored, ref.eventId), { reason: 'abandoned', message, state: { lastStatus: null, lastError: message, attempts: deliveries - 1 } })
    return deadOutcome(ref.eventId, 'abandoned', message)
  }

  private async settle (queue: DestinationQueue['queue'], data: RelayJobData, deadLetter: NonNullable<RelayJobData['deadLetter']>): Promise<void> {
    await queue.add(data.event, { ...data, deadLetter }, { jobId: data.eventId })
  }
}
