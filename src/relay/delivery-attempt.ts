import type { Logger } from 'pino'
import type { AppConfig, DestinationConfig } from '../config/config.js'
import { DeliveryError, IntegrityError } from '../errors.js'
import { pickStoredHeaders } from '../ingress/forwarded-headers.js'
import type { CounterChild, HistogramChild } from '../metrics/bound-metrics.js'
import { statusClass, type RelayMetrics } from '../metrics/relay-metrics.js'
import type { DeadLetterReason, DeliveryState } from '../retry/relay-job.js'
import type { StoredEvent } from '../store/stored-event.js'
import { restoreSignature } from '../store/stored-signature.js'
import type { DestinationClient } from './destination-client.js'
import type { RelayTracing } from '../tracing/relay-tracing.js'

/** Which attempt this is, for the decision between a retry and the dead-letter set. */
export interface AttemptContext {
  app: AppConfig
  destination: DestinationConfig
  /** Stream entry id or job id, for logs. */
  id: string
  /** 1 for the first attempt (made from the stream), counting on through the retry queue. */
  attempt: number
  /** No attempt follows this one. */
  finalAttempt: boolean
  /** This destination's attempt timeout. @defaultValue the client's (DELIVERY_TIMEOUT_MS) */
  timeoutMs?: number
}

interface DeliveredInstruments {
  attempts: CounterChild
  duration: HistogramChild
  endToEnd: HistogramChild
}

/** How one attempt ended. */
export type AttemptResult =
  | { outcome: 'delivered', status: number }
  /** Try again later (after the schedule, or `error.retryAfterMs` when the destination asked for longer). */
  | { outcome: 'retry', error: DeliveryError, state: DeliveryState }
  /** Settled as a dead letter: counted and logged already. */
  | { outcome: 'dead-letter', reason: DeadLetterReason, message: string, state: DeliveryState }

/**
 * One delivery attempt of a stored event, the same whether it is the first
 * (straight from the destination's stream) or a retry (from its BullMQ retry
 * queue): re-seal check and signature, the POST, the metrics and the log line.
 */
export class DeliveryAttempts {
  private readonly client: DestinationClient
  private readonly metrics: RelayMetrics
  private readonly logger: Logger
  private readonly tracing: RelayTracing | undefined
  /** The metric children of a destination's deliveries, looked up once (see bound-metrics.ts). */
  private readonly delivered = new WeakMap<DestinationConfig, DeliveredInstruments>()

  /** `tracing`: a span per attempt when set. @defaultValue unset (off) */
  constructor (opts: { client: DestinationClient, metrics: RelayMetrics, logger: Logger, tracing?: RelayTracing }) {
    this.client = opts.client
    this.metrics = opts.metrics
    this.logger = opts.logger
    this.tracing = opts.tracing
  }

  /** Makes one attempt; with tracing on, inside its span. */
  // Not async: with tracing off the attempt's own promise is returned, no wrapper is made.
  attempt (ctx: AttemptContext, stored: StoredEvent): Promise<AttemptResult> {
    return this.tracing === undefined ? this.send(ctx, stored) : this.traced(this.tracing, ctx, stored)
  }

  private async traced (tracing: RelayTracing, ctx: AttemptContext, stored: StoredEvent): Promise<AttemptResult> {
    const span = tracing.startDelivery(ctx, stored)
    try {
      const result = await this.send(ctx, stored)
      span.end(result)
      return result
    } catch (err) {
      span.fail(err)
      throw err
    }
  }

  private async send (ctx: AttemptContext, stored: StoredEvent): Promise<AttemptResult> {
    const { metrics, logger } = this
    const labels = { app: ctx.app.name, destination: ctx.destination.name }

    let headers: Record<string, string>
    try {
      // Filtered again: Redis is not trusted with the headers any more than with the bytes.
      const forwarded = typeof stored.headers === 'object' && stored.headers !== null ? pickStoredHeaders(stored.headers) : {}
      const signature = restoreSignature(stored.signatureSha256, forwarded['x-zm-request-timestamp'], stored.body, ctx.app.secretTokens)
      headers = { ...forwarded, 'x-zm-signature': signature }
      Object.assign(headers, ctx.destination.headers)
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err
      return this.corrupt(ctx, err.message)
    }

    const started = performance.now()
    try {
      const { status } = await this.client.post(ctx.destination.url, stored.body, headers, ctx.timeoutMs)
      const delivered = this.deliveredInstruments(ctx.destination, labels)
      delivered.attempts.inc()
      delivered.duration.observe((performance.now() - started) / 1000)
      const sentAt = Number(stored.headers['x-zm-request-timestamp']) * 1000
      delivered.endToEnd.observe(Math.max(0, Date.now() - sentAt) / 1000)
      return { outcome: 'delivered', status }
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err
      const outcome = err.retryable ? 'retry' : 'rejected'
      metrics.deliveryAttempts.inc({ ...labels, outcome, status_class: statusClass(err.status) })
      metrics.deliveryDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000)
      const state: DeliveryState = { lastStatus: err.status ?? null, lastError: err.message, attempts: ctx.attempt }
      if (err.retryable && !ctx.finalAttempt) {
        logger.info({ ...labels, id: ctx.id, status: err.status, attempts: ctx.attempt }, 'delivery failed, will retry: %s', err.message)
        return { outcome: 'retry', error: err, state }
      }
      const reason = err.retryable ? 'attempts_exhausted' : 'rejected'
      metrics.deadLettered.inc({ ...labels, reason })
      logger.warn({ ...labels, id: ctx.id, event: stored.event, status: err.status, attempts: ctx.attempt }, 'delivery dead-lettered: %s', err.message)
      return { outcome: 'dead-letter', reason, message: err.message, state }
    }
  }

  private deliveredInstruments (destination: DestinationConfig, labels: { app: string, destination: string }): DeliveredInstruments {
    let instruments = this.delivered.get(destination)
    if (instruments === undefined) {
      instruments = {
        // A delivery is a 2xx by definition (DestinationClient throws on anything else).
        attempts: this.metrics.deliveryAttempts.labels({ ...labels, outcome: 'delivered', status_class: '2xx' }),
        duration: this.metrics.deliveryDuration.labels({ ...labels, outcome: 'delivered' }),
        endToEnd: this.metrics.endToEndLatency.labels(labels)
      }
      this.delivered.set(destination, instruments)
    }
    return instruments
  }

  /** Counts and logs an event that waited past the retry horizon; returns the dead letter's message. */
  expired (ctx: Pick<AttemptContext, 'app' | 'destination' | 'id'>, horizonMs: number): string {
    const labels = { app: ctx.app.name, destination: ctx.destination.name }
    const message = `Waited longer than the retry horizon (${Math.round(horizonMs / 1000)} s) without being delivered; expired.`
    this.metrics.deadLettered.inc({ ...labels, reason: 'expired' })
    this.logger.warn({ ...labels, id: ctx.id }, 'delivery dead-lettered: %s', message)
    return message
  }

  /** Counts an event given up after it kept killing the workers that held it. */
  abandoned (app: AppConfig, destination: DestinationConfig): void {
    this.metrics.deadLettered.inc({ app: app.name, destination: destination.name, reason: 'abandoned' })
  }

  /**
   * A stored event whose bytes no longer match Zoom's signature (or whose
   * stream entry is unreadable): never sent, straight to the dead letters.
   */
  corrupt (ctx: Pick<AttemptContext, 'app' | 'destination' | 'id' | 'attempt'>, why: string): AttemptResult {
    const labels = { app: ctx.app.name, destination: ctx.destination.name }
    const integrity = new IntegrityError(`Stored event ${ctx.id} no longer matches its signature: ${why}; not sending it.`)
    this.logger.error({ ...labels, id: ctx.id, err: integrity }, 'stored event failed re-verification')
    this.metrics.deliveryAttempts.inc({ ...labels, outcome: 'integrity_error', status_class: 'none' })
    this.metrics.deadLettered.inc({ ...labels, reason: 'integrity_error' })
    return { outcome: 'dead-letter', reason: 'integrity_error', message: integrity.message, state: { lastStatus: null, lastError: integrity.message, attempts: ctx.attempt } }
  }
}
