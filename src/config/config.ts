/**
 * The one typed configuration object. It is built and validated once at
 * start-up by `loadConfig()`; nothing else reads `process.env`.
 */

export type Role = 'web' | 'worker' | 'all'

export const RECALL_REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-northeast-1'] as const
export type RecallRegion = typeof RECALL_REGIONS[number]

/**
 * Which Zoom events a destination gets. A name matches exactly, or by prefix
 * when it ends in `*` (`meeting.*`). Unset: every event (what Recall asks for).
 */
export interface EventFilter {
  /** Only these events; unset: all. */
  include?: string[]
  /** Never these events, even if included. */
  exclude?: string[]
}

/** API access to Recall or Attendee for the OAuth flow, the clean-up and the CLI. */
export interface ProviderApiConfig {
  /** API origin, e.g. `https://us-east-1.recall.ai` or `https://app.attendee.dev`. */
  baseUrl: string
  /** Sent as `Authorization: Token <apiKey>`; never logged. */
  apiKey: string
  /** Recall Zoom OAuth App id, or Attendee Zoom OAuth app id (`zoa_…`). */
  appId: string
}

/** Where the events of one app are relayed to. */
export interface DestinationConfig {
  /** Unique within its app; used in queue names and metric labels. */
  name: string
  /** `recall`: a Recall.ai Zoom OAuth app webhook. `attendee`: an Attendee Zoom OAuth app. `http`: any URL. */
  kind: 'recall' | 'attendee' | 'http'
  /** Full URL the exact bytes are POSTed to. */
  url: string
  /**
   * Extra static headers sent with every delivery (`http` destinations only),
   * e.g. your own service's API key via `${VAR}`. Kept in memory, never in Redis.
   * @defaultValue `{}`
   */
  headers: Record<string, string>
  /** Which events this destination gets. @defaultValue every event */
  events?: EventFilter
  /** Set when the file gives an `apiKey` (recall and attendee only). */
  api?: ProviderApiConfig
  /**
   * Attendee only: the capability flags sent when registering an OAuth
   * connection (each needs its own Zoom scopes, see docs/oauth.md).
   * @defaultValue Attendee's own: local recording token true, on-behalf token false
   */
  attendeeConnection?: { isLocalRecordingTokenSupported: boolean, isOnbehalfTokenSupported: boolean }
  /** Whole-request timeout of one attempt. @defaultValue `deliveryTimeoutMs` (DELIVERY_TIMEOUT_MS) */
  timeoutMs?: number
  /** Deliveries in flight per worker process, first attempts and retries together. @defaultValue `deliveryConcurrency` */
  concurrency?: number
  /** This destination's retry schedule; each field defaults to the env value (RETRY_*). */
  retry?: { attempts?: number, baseDelayMs?: number, maxDelayMs?: number }
  /** Deliveries per second across all worker processes. @defaultValue unlimited */
  rateLimit?: { perSecond: number }
  /**
   * Opens after `failures` consecutive failed attempts and probes at intervals
   * doubling from 1 s to `maxProbeIntervalMs`; `false` turns it off.
   * @defaultValue the env values (CIRCUIT_BREAKER_FAILURES, CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS)
   */
  circuitBreaker?: { failures?: number, maxProbeIntervalMs?: number } | false
}

/** The Zoom OAuth install flow of one app (Recall- or Attendee-managed tokens). */
export interface OAuthConfig {
  /** Zoom app Client ID (public). */
  clientId: string
  /** Exactly as registered in Zoom, trailing slash included; its path is served by the relay. */
  redirectUri: string
  /** Where the browser goes after a successful connection. @defaultValue a built-in page */
  successUrl?: string
  /** @defaultValue `https://zoom.us/oauth/authorize` */
  authorizeUrl: string
  /** Name of the recall or attendee destination (with an `apiKey`) that registers the code. */
  registrar: string
}

/** Deleting Recall's credentials or Attendee's connections when Zoom sends `app_deauthorized`. */
export interface DeauthorizationConfig {
  /**
   * Names of the recall and attendee destinations (each with an `apiKey`)
   * whose credentials/connections are deleted, in order.
   * @defaultValue every recall and attendee destination of the app with an `apiKey`; the file's `destination` names one
   */
  destinations: string[]
  /**
   * `user`: credentials/connections of the deauthorizing user (user-managed apps).
   * `account`: every one of the Zoom account (admin-managed apps).
   * @defaultValue `user`
   */
  match: 'user' | 'account'
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
  /** Unset: no install routes for this app. */
  oauth?: OAuthConfig
  /** Unset: no clean-up (no Recall API key, or turned off). */
  deauthorization?: DeauthorizationConfig
}

export interface HostPort { host: string, port: number }

/** Credentials for Sentinel- and Cluster-managed Redis (a URL carries its own). */
export interface RedisAuth {
  username?: string
  password?: string
  /** `rediss`-style TLS to the data nodes. @defaultValue false */
  tls: boolean
}

/**
 * How to reach Redis: a URL, Redis Sentinel (the current master of `name`),
 * Redis Cluster, or an embedded `redis-server` started by the relay.
 */
export type RedisTarget =
  | { kind: 'url', url: string }
  | { kind: 'sentinel', sentinels: HostPort[], name: string, auth: RedisAuth }
  | { kind: 'cluster', nodes: HostPort[], auth: RedisAuth }
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

/**
 * OpenTelemetry traces (off unless an OTLP endpoint is set). Only what decides
 * whether tracing runs and where it exports is read here; the SDK itself reads
 * the other standard `OTEL_*` variables (sampler, headers, timeouts, resource).
 */
export interface TracingConfig {
  /**
   * OTLP/HTTP traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, or
   * `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended.
   */
  url: string
  /**
   * Which traces are recorded (`OTEL_TRACES_SAMPLER`, the `parentbased_` forms
   * meaning the same): a webhook's span decides for its event, whatever the
   * sampled flag of Zoom's `traceparent`; delivery spans follow it.
   * @defaultValue `always_on`
   */
  sampler: 'always_on' | 'always_off' | 'traceidratio'
  /** Share of traces kept with `traceidratio` (`OTEL_TRACES_SAMPLER_ARG`). @defaultValue 1 */
  ratio: number
}

export interface Config {
  apps: AppConfig[]
  redis: RedisTarget
  /** BullMQ key prefix (no braces: queue names carry the Cluster hash tag). @defaultValue `zoom-relay` */
  redisPrefix: string
  /**
   * Replicas that must have each event before Zoom gets its 200 (Redis `WAIT`);
   * with Sentinel, 1 means an acknowledged event survives a failover. 0: off.
   * @defaultValue 0
   */
  redisMinReplicas: number
  /** @defaultValue `0.0.0.0` */
  host: string
  /** @defaultValue 8080 */
  port: number
  /** @defaultValue 9464 */
  metricsPort: number
  /** Bind address of the metrics server (`/metrics`, detailed `/readyz`). @defaultValue the `host` value */
  metricsHost: string
  /**
   * Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` / `X-Forwarded-Host`
   * are believed (IP addresses, CIDR ranges, or `loopback`, `linklocal`,
   * `uniquelocal`); from anyone else these headers are ignored. Decides the
   * client address that rate limits count and whether a request came over HTTPS.
   * @defaultValue `[]` (trust no proxy)
   */
  trustedProxies: string[]
  /** pino level. @defaultValue `info` */
  logLevel: string
  /** Accepted clock skew of `x-zm-request-timestamp`, in seconds. @defaultValue 300 */
  signatureToleranceSeconds: number
  /** Largest accepted webhook body. @defaultValue 1_048_576 (1 MiB) */
  bodyLimitBytes: number
  /**
   * A client must send its whole request (headers and body) within this; a
   * slow or stalled one gets 408 and its connection closed. @defaultValue 10_000
   */
  httpRequestTimeoutMs: number
  /** Open connections the webhook server accepts at once; more are refused. @defaultValue 10_000 */
  httpMaxConnections: number
  /** Longest wait for Redis to accept an event before answering 503. @defaultValue 1500 */
  enqueueTimeoutMs: number
  /** Whole-request timeout of one delivery attempt. @defaultValue 10_000 */
  deliveryTimeoutMs: number
  /** Deliveries in flight per destination per worker process, first attempts and retries together. @defaultValue 16 */
  deliveryConcurrency: number
  retry: RetryConfig
  /**
   * Default circuit breaker of every destination: opens after `failures`
   * consecutive failed attempts (0: off), probes at intervals doubling from
   * 1 s to `maxProbeIntervalMs`.
   * @defaultValue `{ failures: 10, maxProbeIntervalMs: 60_000 }`
   */
  circuitBreaker: { failures: number, maxProbeIntervalMs: number }
  /** Completed jobs kept for inspection (count). @defaultValue 1000 */
  completedJobsKept: number
  /** How long dead letters stay in Redis, in seconds. @defaultValue 1_209_600 (14 days) */
  deadLetterRetentionSeconds: number
  /** Longest wait for in-flight deliveries on SIGTERM. @defaultValue 25_000 */
  shutdownTimeoutMs: number
  /**
   * Identical bodies for one app within this window are stored once (Zoom's
   * retries span 85 min); 0 turns de-duplication off. @defaultValue 7200
   */
  dedupWindowSeconds: number
  /** The event history (src/history/): how long and how many accepted events are kept. */
  history: HistoryRetention
  /** The admin API and queue UI, when `ADMIN_TOKEN` is set (web and all roles). */
  admin?: {
    /** Bearer token every admin request needs; never logged. */
    token: string
    /** @defaultValue `127.0.0.1` (loopback: binding it elsewhere is a deliberate setting) */
    host: string
    /** @defaultValue 9465 */
    port: number
  }
  /** How long an OAuth install `state` stays valid, in seconds. @defaultValue 600 */
  oauthStateTtlSeconds: number
  /**
   * Key material of the OAuth `state` MAC and PKCE verifiers; never logged.
   * Unset: derived per app from its current Zoom Secret Token (with a
   * domain-separation label). @defaultValue unset
   */
  oauthStateSecret?: string
  /** Requests per minute one client address may make to the OAuth routes (per web process). @defaultValue 30 */
  oauthRateLimitPerMinute: number
  /** Timeout of one Recall/Attendee API call. @defaultValue 10_000 */
  providerApiTimeoutMs: number
  /** Retries of a Recall/Attendee API call after 429/5xx/network errors (interactive paths). @defaultValue 3 */
  providerApiRetries: number
  /** OpenTelemetry traces. @defaultValue unset: off */
  tracing?: TracingConfig
}

/** How long the event history keeps settled events (EVENT_RETENTION_*). Unsettled events are never removed. */
export interface HistoryRetention {
  /** Seconds an event is kept; 0 keeps only what is still being delivered. @defaultValue 86_400 */
  retentionSeconds: number
  /** Most events kept per app (the oldest settled ones go first). @defaultValue 500_000 */
  maxEvents: number
  /** Seconds a settled event keeps its body; at most `retentionSeconds`. @defaultValue `retentionSeconds` */
  bodyRetentionSeconds: number
  /** Bodies of 256 B to 32 KiB are stored deflated (EVENT_BODY_COMPRESSION=deflate; `off`: as sent). @defaultValue true */
  compressBodies: boolean
}
