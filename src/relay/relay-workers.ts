import { UnrecoverableError, type Job } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.js'
import type { Logger } from 'pino'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { queueName } from '../queue/queue-name.js'
import { decodeBody, type RelayJobData } from '../queue/relay-job.js'
import { WorkerGroup, workerOptions } from '../queue/worker-group.js'
import type { DeliveryAttempts } from './delivery-attempt.js'
import type { LastDeliveryRecorder } from './last-delivery.js'

export interface RelayWorkersOptions {
  config: Config
  /** Worker connection: `maxRetriesPerRequest: null`, waits while Redis is away. */
  connection: RedisClient
  attempts: DeliveryAttempts
  lastDelivery: LastDeliveryRecorder
  logger: Logger
}

/**
 * The retry lane: one BullMQ Worker per app × destination on its retry queue,
 * where an event goes when its first attempt (straight from the stream, see
 * stream-relay.ts) did not deliver it. BullMQ brings the backoff schedule, the
 * dead-letter set, replay and the queue UI. A destination that is slow or
 * down only ever holds up its own queue.
 */
export class RelayWorkers extends WorkerGroup {
  private readonly opts: RelayWorkersOptions

  constructor (opts: RelayWorkersOptions) {
    super(opts.logger)
    this.opts = opts
    const options = workerOptions(opts.config, opts.connection)
    for (const app of opts.config.apps) {
      for (const destination of app.destinations) {
        this.start<RelayJobData>(queueName(app, destination), async job => await this.deliver(app, destination, job), options, { app: app.name, destination: destination.name })
      }
    }
  }

  private async deliver (app: AppConfig, destination: DestinationConfig, job: Job<RelayJobData>): Promise<{ status: number }> {
    const { deadLetter } = job.data
    if (deadLetter !== undefined) {
      // Settled on its first attempt (counted and logged there): record it in the dead-letter
      // set. Without the mark, a replay of this dead letter is delivered like any retry.
      await job.updateProgress(deadLetter.state as unknown as object)
      const { deadLetter: _settled, ...data } = job.data
      await job.updateData(data)
      throw new UnrecoverableError(deadLetter.message)
    }
    const result = await this.opts.attempts.attempt({
      app,
      destination,
      id: job.id ?? '',
      attempt: (job.data.priorAttempts ?? 0) + job.attemptsMade + 1,
      finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    }, { ...job.data, body: decodeBody(job.data) })
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
