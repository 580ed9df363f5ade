import { UnrecoverableError, type Job } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.js'
import type { Logger } from 'pino'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { DeliveryError, IntegrityError } from '../errors.js'
import { statusClass, type RelayMetrics } from '../metrics/relay-metrics.js'
import { queueName } from '../queue/queue-name.js'
import { decodeBody, type RelayJobData } from '../queue/relay-job.js'
import { WorkerGroup, workerOptions } from '../queue/worker-group.js'
import { restoreSignature } from '../queue/stored-signature.js'
import type { DestinationClient } from './destination-client.js'

/** What a failed attempt leaves on the job (as its progress), for the dead-letter tools. */
export interface DeliveryState {
  lastStatus: number | null
  lastError: string
  attempts: number
}

export interface RelayWorkersOptions {
  config: Config
  /** Worker connection: `maxRetriesPerRequest: null`, waits while Redis is away. */
  connection: RedisClient
  client: DestinationClient
  metrics: RelayMetrics
  logger: Logger
}

/**
 * One BullMQ Worker per app × destination: a destination that is slow or
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
    const { client, metrics, logger } = this.opts
    const labels = { app: app.name, destination: destination.name }
    const body = decodeBody(job.data)
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)

    let headers: Record<string, string>
    try {
      const signature = restoreSignature(job.data.signatureSha256, job.data.headers['x-zm-request-timestamp'], body, app.secretTokens)
      headers = { ...job.data.headers, 'x-zm-signature': signature, ...destination.headers }
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err
      const integrity = new IntegrityError(`Stored event ${job.id} no longer matches its signature: ${err.message}; not sending it.`)
      logger.error({ ...labels, jobId: job.id, err: integrity }, 'stored event failed re-verification')
      metrics.deliveryAttempts.inc({ ...labels, outcome: 'integrity_error', status_class: 'none' })
      metrics.deadLettered.inc({ ...labels, reason: 'integrity_error' })
      throw new UnrecoverableError(integrity.message)
    }

    const started = performance.now()
    try {
      const { status } = await client.post(destination.url, body, headers)
      metrics.deliveryAttempts.inc({ ...labels, outcome: 'delivered', status_class: statusClass(status) })
      metrics.deliveryDuration.observe({ ...labels, outcome: 'delivered' }, (performance.now() - started) / 1000)
      const sentAt = Number(headers['x-zm-request-timestamp']) * 1000
      metrics.endToEndLatency.observe(labels, Math.max(0, Date.now() - sentAt) / 1000)
      return { status }
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err
      const outcome = err.retryable ? 'retry' : 'rejected'
      metrics.deliveryAttempts.inc({ ...labels, outcome, status_class: statusClass(err.status) })
      metrics.deliveryDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000)
      const state: DeliveryState = { lastStatus: err.status ?? null, lastError: err.message, attempts: job.attemptsMade + 1 }
      await job.updateProgress(state as unknown as object)
      if (!err.retryable || finalAttempt) {
        metrics.deadLettered.inc({ ...labels, reason: err.retryable ? 'attempts_exhausted' : 'rejected' })
        logger.warn({ ...labels, jobId: job.id, event: job.data.event, status: err.status, attempts: state.attempts }, 'delivery dead-lettered: %s', err.message)
        if (!err.retryable) throw new UnrecoverableError(err.message)
      } else {
        logger.info({ ...labels, jobId: job.id, status: err.status, attempts: state.attempts }, 'delivery failed, will retry: %s', err.message)
      }
      throw err
    }
  }
}
