import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { IntegrityError } from '../errors.js'
import type { RedisClient } from '../queue/redis-connection.js'
import type { RelayJobData } from '../queue/relay-job.js'
import type { DestinationQueue, RelayQueues } from '../queue/relay-queues.js'
import { readStoredEvent, toRelayJobData, type StoredEvent, type StreamEntry } from '../queue/stored-event.js'
import { StreamConsumer, StreamConsumerSet } from '../queue/stream-consumer.js'
import { entryTime, eventStreamKey } from '../queue/stream-keys.js'
import { lockDurationMs, MAX_STALLED_COUNT } from '../queue/worker-group.js'
import type { DeliveryAttempts } from './delivery-attempt.js'
import type { DestinationGates } from './destination-gate.js'
import type { LastDeliveryRecorder } from './last-delivery.js'
import { retryDelay } from './retry-policy.js'

export interface StreamRelayOptions {
  config: Config
  /** Worker connection: waits while Redis is away. */
  connection: RedisClient
  /** The destinations' retry queues, on a connection that waits while Redis is away. */
  retryQueues: RelayQueues
  attempts: DeliveryAttempts
  /** Pause, circuit breaker, ramp and rate limit of every destination. */
  gates: DestinationGates
  lastDelivery: LastDeliveryRecorder
  logger: Logger
}

/**
 * The first attempt of every delivery, straight from the destination's
 * stream: no job is created for an event the destination takes at once, so
 * the common case costs Redis one read and one acknowledgement per batch
 * instead of a BullMQ job's scripts. An event that is not delivered becomes a
 * job of the destination's retry queue (relay-workers.ts carries on from there),
 * or a dead letter; only then is its stream entry acknowledged, so a crash in
 * between leaves it pending, to be taken over by another worker.
 */
export class StreamRelay extends StreamConsumerSet {
  private readonly opts: StreamRelayOptions

  constructor (opts: StreamRelayOptions) {
    super()
    this.opts = opts
    const { config } = opts
    for (const target of opts.retryQueues.all()) {
      const { app, destination } = target
      const labels = { app: app.name, destination: destination.name }
      const gate = opts.gates.of(destination)
      this.consumers.push(new StreamConsumer({
        redis: opts.connection,
        key: eventStreamKey(config.redisPrefix, app, destination),
        concurrency: gate.settings.concurrency,
        gate: { allowance: () => gate.allowance('stream'), changed: async ms => { await gate.changed(ms) }, idle: () => { gate.streamIdle() } },
        claimIdleMs: lockDurationMs(config),
        maxDeliveries: MAX_STALLED_COUNT + 1,
        handle: async entry => { await this.deliver(target, entry) },
        abandon: async (entry, deliveries) => { await this.abandon(target, entry, deliveries) },
        logger: opts.logger,
        labels
      }))
    }
  }

  private async deliver ({ app, destination, queue }: DestinationQueue, entry: StreamEntry): Promise<void> {
    const { attempts } = this.opts
    const gate = this.opts.gates.of(destination)
    const { retry } = gate.settings
    let stored: StoredEvent
    try {
      stored = readStoredEvent(entry)
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err
      // Only tampering (or a bug) makes an entry unreadable: nothing can be sent or kept for replay.
      attempts.corrupt({ app, destination, id: entry.id, attempt: 1 }, err.message)
      return
    }
    // Read within the gate's allowance; only a pause or an opening circuit since then refuses it,
    // and the attempt goes ahead as one of those already in flight when it happened.
    const admission = gate.admit('stream') ?? { probe: false }
    if (gate.expired(entryTime(entry.id), admission)) {
      await gate.finished(admission, 'not_sent')
      const message = attempts.expired({ app, destination, id: entry.id }, gate.settings.horizonMs)
      await this.settle(queue, toRelayJobData(stored, entry.id), entry.id, { reason: 'expired', message, state: { lastStatus: null, lastError: message, attempts: 0 } })
      return
    }
    await gate.rateToken()
    const result = await attempts.attempt({ app, destination, id: entry.id, attempt: 1, finalAttempt: retry.attempts <= 1, timeoutMs: gate.settings.timeoutMs }, stored)
    await gate.finished(admission, result)
    if (result.outcome === 'delivered') {
      this.opts.lastDelivery.record(app.name, destination.name)
      return
    }
    // The stream entry id is the job id: taking the entry over after a crash adds no second job.
    const data = toRelayJobData(stored, entry.id)
    if (result.outcome === 'retry') {
      await queue.add(stored.event, { ...data, priorAttempts: 1 }, {
        jobId: entry.id,
        delay: retryDelay(1, retry, result.error.retryAfterMs),
        attempts: retry.attempts - 1
      })
    } else {
      await this.settle(queue, data, entry.id, { reason: result.reason, message: result.message, state: result.state })
    }
  }

  /** An entry that kept killing the workers holding it: a dead letter, never sent again automatically. */
  private async abandon ({ app, destination, queue }: DestinationQueue, entry: StreamEntry, deliveries: number): Promise<void> {
    const message = `Taken over ${deliveries - 1} times from workers that stopped while holding it; given up.`
    this.opts.logger.error({ app: app.name, destination: destination.name, id: entry.id, deliveries }, 'stream entry abandoned: %s', message)
    let stored: StoredEvent
    try {
      stored = readStoredEvent(entry)
    } catch {
      return
    }
    this.opts.attempts.abandoned(app, destination)
    await this.settle(queue, toRelayJobData(stored, entry.id), entry.id, { reason: 'abandoned', message, state: { lastStatus: null, lastError: message, attempts: deliveries - 1 } })
  }

  private async settle (queue: DestinationQueue['queue'], data: RelayJobData, id: string, deadLetter: NonNullable<RelayJobData['deadLetter']>): Promise<void> {
    await queue.add(data.event, { ...data, deadLetter }, { jobId: id })
  }
}
