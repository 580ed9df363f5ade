/**
 * The one typed configuration object. It is built and validated once at
 * start-up by `loadConfig()`; nothing else reads `process.env`.
 */

export type Role = 'web' | 'worker' | 'all'

export const RECALL_REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-northeast-1'] as const
export type RecallRegion = typeof RECALL_REGIONS[number]

/** Where the events of one app are relayed to. */
export interface DestinationConfig {
  /** Unique within its app; used in queue names and metric labels. */
  name: string
  /** `recall`: a Recall.ai Zoom OAuth app webhook. `attendee`: an Attendee Zoom OAuth app. `http`: any URL. */
  kind: 'recall' | 'attendee' | 'http'
  /** Full URL the exact bytes are POSTed to. */
  url: string
}

/** One Zoom app (one Secret Token) and its destinations. */
export interface AppConfig {
  /** `default` for the app configured from the environment; otherwise the name from `CONFIG_FILE`. */
  name: string
  /** `POST` path Zoom is pointed at. */
  path: string
  /** Current Secret Token first; a second one is accepted during a rotation. */
  secretTokens: string[]
  destinations: DestinationConfig[]
}

/** How to reach Redis: a URL, or an embedded `redis-server` started by the relay. */
export type RedisTarget =
  | { kind: 'url', url: string }
  | { kind: 'embedded', dataDir: string }

export interface RetryConfig {
  /**
   * Attempts per delivery, the first one included.
   * @defaultValue 36 (with the default delays the last attempt is ~24 h after the first)
   */
  attempts: number
  /** Delay before the first retry, doubled each time. @defaultValue 1000 */
  baseDelayMs: number
  /** Cap on one backoff delay. @defaultValue 3_600_000 (1 h) */
  maxDelayMs: number
  /** Cap on a destination's `Retry-After`. @defaultValue 3_600_000 (1 h) */
  retryAfterMaxMs: number
}

export interface Config {
  apps: AppConfig[]
  redis: RedisTarget
  /** BullMQ key prefix. @defaultValue `zoom-relay` */
  redisPrefix: string
  /** @defaultValue `0.0.0.0` */
  host: string
  /** @defaultValue 8080 */
  port: number
  /** @defaultValue 9464 */
  metricsPort: number
  /** pino level. @defaultValue `info` */
  logLevel: string
  /** Accepted clock skew of `x-zm-request-timestamp`, in seconds. @defaultValue 300 */
  signatureToleranceSeconds: number
  /** Largest accepted webhook body. @defaultValue 1_048_576 (1 MiB) */
  bodyLimitBytes: number
  /** Longest wait for Redis to accept an event before answering 503. @defaultValue 1500 */
  enqueueTimeoutMs: number
  /** Whole-request timeout of one delivery attempt. @defaultValue 10_000 */
  deliveryTimeoutMs: number
  /** Deliveries in flight per destination per worker process. @defaultValue 16 */
  deliveryConcurrency: number
  retry: RetryConfig
  /** Completed jobs kept for inspection (count). @defaultValue 1000 */
  completedJobsKept: number
  /** How long dead letters stay in Redis, in seconds. @defaultValue 1_209_600 (14 days) */
  deadLetterRetentionSeconds: number
  /** Longest wait for in-flight deliveries on SIGTERM. @defaultValue 25_000 */
  shutdownTimeoutMs: number
}
