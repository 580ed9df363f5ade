import { DelayedError, UnrecoverableError, type Job, type Worker } from 'bullmq'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Logger } from 'pino'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { queueName } from '../retry/queue-name.js'
import { decodeBody, type DeliveryState, type RelayJobData } from '../retry/relay-job.js'
import { WorkerGroup, workerOptions } from '../retry/worker-group.js'
import type { DeliveryAttempts } from './delivery-attempt.js'
import type { DestinationGate, DestinationGates } from './destination-gate.js'
import type { LastDeliveryRecorder } from './last-delivery.js'
import { attemptOutcome, deadOutcome, type DeliveryOutcome } from './delivery-outcome.js'
import type { HistoryRecorder } from '../store/history-recorder.js'

export interface RelayWorkersOptions {
  config: Config
  /** Worker connection: `maxRetriesPerRequest: null`, waits while Redis is away. */
  connection: RedisClient
  attempts: DeliveryAttempts
  /** Pause, circuit breaker, ramp and rate limit of every destination. */
  gates: DestinationGates
  /** Where each attempt's outcome is recorded (the event's record in the history). */
  history: HistoryRecorder
  lastDelivery: LastDeliveryRecorder
  logger: Logger
}

/**
 * The retry lane: one BullMQ Worker per app × destination on its retry queue,
 * where an event goes when its first attempt (straight from the stream, see
 * stream-relay.ts) did not deliver it, and where an operator's replays go.
 * Each attempt's outcome is written to the event's record in the history. BullMQ brings the backoff schedule, the
 * dead-letter set, replay and the queue UI. A destination that is slow or
 * down only ever holds up its own queue.
 */
export class RelayWorkers extends WorkerGroup {
  private readonly opts: RelayWorkersOptions

  constructor (opts: RelayWorkersOptions) {
    super(opts.logger)
    this.opts = opts
    for (const app of opts.config.apps) {
      for (const destination of app.destinations) {
        const gate = opts.gates.of(destination)
        const options = workerOptions(opts.config, opts.connection, { concurrency: gate.allowance('retry') || gate.settings.concurrency, retry: gate.settings.retry })
        const worker = this.start<RelayJobData>(queueName(app, destination), async (job, token) => await this.deliver(app, destination, gate, job, token), options, { app: app.name, destination: destination.name })
        this.follow(gate, worker)
        // BullMQ fails a job that stalled more than MAX_STALLED_COUNT times without calling the
        // processor (a "deferred failure"), so only this event tells the history about it.
        worker.on('failed', job => {
          if (job?.deferredFailure !== undefined) void this.abandon(app, destination, job)
        })
      }
    }
  }

  /**
   * A worker takes jobs only while its gate lets the retry lane send: paused
   * otherwise (jobs wait in the queue, no attempt used), with the gate's
   * allowance as its concurrency (a ramp after a circuit closed, 1 for a probe).
   */
  private follow (gate: DestinationGate, worker: Worker<RelayJobData>): void {
    let applying = Promise.resolve()
    const apply = (): void => {
      applying = applying.then(async () => {
        if (this.closed) return
        const allowance = gate.allowance('retry')
        if (allowance === 0) {
          if (!worker.isPaused()) await worker.pause(true)
          return
        }
        if (worker.concurrency !== allowance) worker.concurrency = allowance
        if (worker.isPaused()) await worker.resume()
      }).catch((err: Error) => { this.logger.warn({ app: gate.app.name, destination: gate.destination.name, message: err.message }, 'could not apply the destination state to its retry worker') })
    }
    gate.onChange(apply)
    apply()
  }

  private closed = false

  /**
   * Writes an outcome to the event's record. A failure is logged, not
   * thrown: the attempt is made and must not be made again for the history's sake.
   */
  private async record (app: AppConfig, destination: DestinationConfig, outcome: DeliveryOutcome): Promise<void> {
    await this.opts.history.record(app, destination, outcome).catch((err: Error) => {
      this.logger.warn({ app: app.name, destination: destination.name, id: outcome.id, message: err.message }, 'could not record a delivery outcome in the event history')
    })
  }

  /**
   * A retry job that kept killing the workers holding it, failed by BullMQ:
   * counted, logged and recorded as an abandoned dead letter, as the stream
   * lane does for its entries (stream-relay.ts).
   */
  private async abandon (app: AppConfig, destination: DestinationConfig, job: Job<RelayJobData>): Promise<void> {
    const message = `Taken over ${job.stalledCounter} times from workers that stopped while holding it; given up.`
    this.logger.error({ app: app.name, destination: destination.name, id: job.id, stalled: job.stalledCounter }, 'retry job abandoned: %s', message)
    this.opts.attempts.abandoned(app, destination)
    // The dead letter's view (dead-letters.ts) reads why from the progress, which still holds the
    // last finished attempt's state; its count stays (attempts cut short by a crash were never counted).
    const last = typeof job.progress === 'object' ? job.progress as Partial<DeliveryState> : {}
    await job.updateProgress({ lastStatus: null, lastError: message, attempts: last.attempts ?? job.data.priorAttempts ?? 0 }).catch((err: Error) => {
      this.logger.warn({ app: app.name, destination: destination.name, id: job.id, message: err.message }, 'could not mark an abandoned retry job')
    })
    const { eventId } = job.data
    if (eventId !== undefined) await this.record(app, destination, deadOutcome(eventId, 'abandoned', message))
  }

  override isRunning (): boolean {
    // A worker held back by its gate (paused destination, open circuit) is doing its job.
    return this.workers.every(w => w.isRunning() || w.isPaused())
  }

  override async close (timeoutMs: number): Promise<void> {
    this.closed = true
    await super.close(timeoutMs)
  }

  private async deliver (app: AppConfig, destination: DestinationConfig, gate: DestinationGate, job: Job<RelayJobData>, token: string | undefined): Promise<{ status: number } | undefined> {
    const { deadLetter } = job.data
    if (deadLetter !== undefined) {
      // Settled on its first attempt (counted and logged there): record it in the dead-letter
      // set. Without the mark, a replay of this dead letter is delivered like any retry.
      await job.updateProgress(deadLetter.state as unknown as object)
      const { deadLetter: _settled, ...data } = job.data
      await job.updateData(data)
      throw new UnrecoverableError(deadLetter.message)
    }
    const admission = gate.admit('retry')
    if (admission === undefined) {
      // Taken just as the destination was paused or its circuit opened: back to wait, no attempt used.
      await job.moveToDelayed(Date.now() + 1000, token)
      throw new DelayedError()
    }
    const { eventId } = job.data
    // A replay waits from when it was asked for, not from when Zoom sent the event.
    if (gate.expired(job.data.replay === true ? job.timestamp : job.data.receivedAt, admission)) {
      await gate.finished(admission, 'not_sent')
      const message = this.opts.attempts.expired({ app, destination, id: job.id ?? '' }, gate.settings.horizonMs)
      await job.updateProgress({ lastStatus: null, lastError: message, attempts: (job.data.priorAttempts ?? 0) + job.attemptsMade })
      if (eventId !== undefined) await this.record(app, destination, deadOutcome(eventId, 'expired', message))
      throw new UnrecoverableError(message)
    }
    await gate.rateToken()
    const attempt = {
      app,
      destination,
      id: job.id ?? '',
      attempt: (job.data.priorAttempts ?? 0) + job.attemptsMade + 1,
      finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      timeoutMs: gate.settings.timeoutMs
    }
    const { result, startedAt } = await gate.send('retry', async () => await this.opts.attempts.attempt(attempt, { ...job.data, body: decodeBody(job.data) }))
    if (eventId !== undefined) await this.record(app, destination, attemptOutcome(eventId, result, startedAt, Date.now() - startedAt, job.data.replay === true))
    await gate.finished(admission, result)
    switch (result.outcome) {
      case 'delivered':
        this.opts.lastDelivery.record(app.name, destination.name)
        return { status: result.status }
      case 'retry':
        await job.updateProgress(result.state as unknown as object)
        throw result.error
      case 'dead-letter':
        await job.updateProgress(result.state as unknown as object)
        throw new UnrecoverableError(result.message)
    }
  }
}
