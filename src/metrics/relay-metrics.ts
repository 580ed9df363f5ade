import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { BoundCounter, BoundHistogram } from './bound-metrics.js'
import type { RoundReport } from '../store/event-producer.js'

/** Zoom gives up on a delivery that takes 3 s; the buckets are dense below that. */
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5]
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** A round is one script call per app: under a millisecond when Redis is idle and local, up to ENQUEUE_TIMEOUT_MS. */
const ROUND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
/** One event to the producer's largest script call (256 events) and beyond it. */
const ROUND_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
/** From sub-second to Zoom's whole retry horizon and our ~24 h backoff. */
const END_TO_END_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600]

export type QueueDepthReader = () => Promise<Array<{ app: string, destination: string, counts: Record<string, number>, oldestWaitingMs?: number | null }>>

/** Event names are verified Zoom input, but only names of Zoom's shape become labels. */
const EVENT_LABEL = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/

export function eventLabel (event: string | undefined): string {
  return event !== undefined && event.length <= 64 && EVENT_LABEL.test(event) ? event : 'unknown'
}

/** Status class of an HTTP answer (`2xx`…`5xx`) or `none` when nothing answered. */
export function statusClass (status: number | undefined): string {
  return status === undefined ? 'none' : `${Math.floor(status / 100)}xx`
}

/**
 * Every metric the relay exports, on its own Registry (never prom-client's
 * global one, so several instances can live in one test process). Those
 * touched once per request or delivery are bound-metrics.ts's; the rest are
 * prom-client's own.
 * Names follow Prometheus conventions: `zoom_relay_` prefix, base units.
 */
export class RelayMetrics {
  readonly registry = new Registry()

  readonly webhooksReceived = new BoundCounter({
    name: 'zoom_relay_webhooks_received_total',
    help: 'Webhook requests by app, Zoom event and outcome (accepted, challenge, rejected) with the rejection reason.',
    labelNames: ['app', 'event', 'outcome', 'reason'] as const,
    registers: [this.registry]
  })

  readonly ackDuration = new BoundHistogram({
    name: 'zoom_relay_ack_duration_seconds',
    help: 'Time from request start to the answer Zoom gets (Zoom gives up after 3 s).',
    labelNames: ['app', 'status_class'] as const,
    buckets: ACK_BUCKETS,
    registers: [this.registry]
  })

  readonly ingestRoundDuration = new BoundHistogram({
    name: 'zoom_relay_ingest_round_duration_seconds',
    help: 'One round of the web role\'s group commit: from sending the events that arrived together to Redis (one script call per app, then WAIT with REDIS_MIN_REPLICAS) until Redis answered; outcome stored or failed.',
    labelNames: ['outcome'] as const,
    buckets: ROUND_BUCKETS,
    registers: [this.registry]
  })

  readonly ingestRoundEvents = new BoundHistogram({
    name: 'zoom_relay_ingest_round_events',
    help: 'Events stored together in one round of the web role\'s group commit.',
    labelNames: [] as const,
    buckets: ROUND_SIZE_BUCKETS,
    registers: [this.registry]
  })

  readonly enqueueFailures = new Counter({
    name: 'zoom_relay_enqueue_failures_total',
    help: 'Verified events Redis did not accept in time (answered 503 so Zoom retries).',
    labelNames: ['app', 'reason'] as const,
    registers: [this.registry]
  })

  readonly deliveryAttempts = new BoundCounter({
    name: 'zoom_relay_delivery_attempts_total',
    help: 'Delivery attempts (first ones from the stream and retries) by app, destination, outcome (delivered, retry, rejected, integrity_error) and HTTP status class.',
    labelNames: ['app', 'destination', 'outcome', 'status_class'] as const,
    registers: [this.registry]
  })

  readonly deliveryDuration = new BoundHistogram({
    name: 'zoom_relay_delivery_duration_seconds',
    help: 'Duration of one delivery attempt, request sent to response consumed.',
    labelNames: ['app', 'destination', 'outcome'] as const,
    buckets: DELIVERY_BUCKETS,
    registers: [this.registry]
  })

  readonly endToEndLatency = new BoundHistogram({
    name: 'zoom_relay_end_to_end_latency_seconds',
    help: 'From x-zm-request-timestamp (Zoom sent it) to a 2xx from the destination.',
    labelNames: ['app', 'destination'] as const,
    buckets: END_TO_END_BUCKETS,
    registers: [this.registry]
  })

  readonly deadLettered = new Counter({
    name: 'zoom_relay_dead_lettered_total',
    help: 'Events moved to the dead-letter (failed) set: rejected by the destination, out of attempts, corrupt, or abandoned after killing their workers.',
    labelNames: ['app', 'destination', 'reason'] as const,
    registers: [this.registry]
  })

  readonly eventsFiltered = new Counter({
    name: 'zoom_relay_events_filtered_total',
    help: 'Accepted events not stored for a destination because its event filter excludes them.',
    labelNames: ['app', 'destination'] as const,
    registers: [this.registry]
  })

  readonly oauthConnections = new Counter({
    name: 'zoom_relay_oauth_connections_total',
    help: 'Zoom OAuth installs by app, provider (recall, attendee) and outcome (started, connected, replaced, denied, state_invalid, failed).',
    labelNames: ['app', 'provider', 'outcome'] as const,
    registers: [this.registry]
  })

  readonly deauthorizationCleanups = new Counter({
    name: 'zoom_relay_deauthorization_cleanups_total',
    help: 'Clean-up attempts after app_deauthorized by app and outcome (cleaned, nothing_found, retry, dead_lettered).',
    labelNames: ['app', 'outcome'] as const,
    registers: [this.registry]
  })

  readonly deauthorizedCredentialsDeleted = new Counter({
    name: 'zoom_relay_deauthorization_credentials_deleted_total',
    help: 'Recall Zoom OAuth credentials and Attendee Zoom OAuth connections deleted after app_deauthorized.',
    labelNames: ['app'] as const,
    registers: [this.registry]
  })

  readonly redisDataLosses = new Counter({
    name: 'zoom_relay_redis_data_losses_total',
    help: 'Times this process found that Redis had lost its data (restarted empty or flushed): undelivered events stored before are gone.',
    registers: [this.registry]
  })

  /** Set by the role that owns the queues; read from Redis at scrape time. */
  queueDepthReader: QueueDepthReader | undefined

  readonly queueJobs = new Gauge({
    name: 'zoom_relay_queue_jobs',
    help: 'What waits per destination by state (waiting: in its stream or a due retry; active: being attempted; delayed: retries scheduled; failed: dead letters), read from Redis at scrape time.',
    labelNames: ['app', 'destination', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      if (this.queueDepthReader === undefined) return
      try {
        for (const { app, destination, counts, oldestWaitingMs } of await this.queueDepthReader()) {
          for (const [state, count] of Object.entries(counts)) this.queueJobs.set({ app, destination, state }, count)
          if (oldestWaitingMs !== undefined) this.oldestWaiting.set({ app, destination }, (oldestWaitingMs ?? 0) / 1000)
        }
      } catch {
        // Redis unreachable: keep the last values; zoom_relay_ready tells the story.
      }
    }
  })

  readonly oldestWaiting = new Gauge({
    name: 'zoom_relay_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest event waiting for delivery per queue (0 when none waits), read from Redis with zoom_relay_queue_jobs.',
    labelNames: ['app', 'destination'] as const,
    registers: [this.registry]
  })

  /** Reads every destination's shared state (destination-state.ts) at scrape time. */
  destinationStateReader: (() => Promise<Array<{ app: string, destination: string, state: string }>>) | undefined

  readonly destinationState = new Gauge({
    name: 'zoom_relay_destination_state',
    help: 'Each destination\'s state, 1 for the current one: closed (delivering), open (circuit open after consecutive failures: events wait, one probe at a time), half_open (a probe in flight), paused (by an operator). Read from Redis at scrape time.',
    labelNames: ['app', 'destination', 'state'] as const,
    registers: [this.registry],
    collect: async () => {
      if (this.destinationStateReader === undefined) return
      try {
        for (const { app, destination, state } of await this.destinationStateReader()) {
          for (const each of ['closed', 'open', 'half_open', 'paused']) this.destinationState.set({ app, destination, state: each }, each === state ? 1 : 0)
        }
      } catch {
        // Redis unreachable: keep the last values.
      }
    }
  })

  /** Reads the last URL validation per app (epoch ms) from Redis, so every process reports the shared value. */
  validationReader: (() => Promise<Record<string, number>>) | undefined

  readonly lastUrlValidation = new Gauge({
    name: 'zoom_relay_url_validation_last_success_timestamp_seconds',
    help: 'Unix time of the last URL validation answered for the app by any web process (Zoom re-validates every 72 h).',
    labelNames: ['app'] as const,
    registers: [this.registry],
    collect: async () => {
      if (this.validationReader === undefined) return
      try {
        for (const [app, ms] of Object.entries(await this.validationReader())) this.lastUrlValidation.set({ app }, ms / 1000)
      } catch {}
    }
  })

  /** Set by the running role; evaluated at scrape time. */
  readinessReader: (() => Promise<boolean>) | undefined

  readonly ready = new Gauge({
    name: 'zoom_relay_ready',
    help: '1 when this process is ready (Redis reachable, workers running where this role runs them), else 0.',
    registers: [this.registry],
    collect: async () => {
      if (this.readinessReader !== undefined) this.ready.set(await this.readinessReader() ? 1 : 0)
    }
  })

  private readonly roundStored = this.ingestRoundDuration.labels({ outcome: 'stored' })
  private readonly roundFailed = this.ingestRoundDuration.labels({ outcome: 'failed' })
  private readonly roundEvents = this.ingestRoundEvents.labels({})

  /** The event producer's `onRound`: a round's duration and size. Bound, so it can be handed on as it is. */
  readonly observeIngestRound = (round: RoundReport): void => {
    (round.stored ? this.roundStored : this.roundFailed).observe(round.seconds)
    this.roundEvents.observe(round.events)
  }

  constructor () {
    collectDefaultMetrics({ register: this.registry })
  }
}
