import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { RECALL_REGIONS, type AppConfig, type Config, type DestinationConfig, type HistoryRetention, type HostPort, type RedisAuth, type RedisTarget } from './config.js'
import { deauthorizationRules, readConfigFile, readOAuth, type DeferredProblem } from './config-file.js'
import type { DocumentPath } from './apps-schema.js'
import { EnvReader } from './env-reader.js'
import { readTracingConfig } from './tracing-config.js'
import { recallRegionBaseUrl, recallWebhookUrl } from '../relay/destination-url.js'

const SECRET_TOKEN_HELP = 'Set it to your Zoom app\'s Secret Token (Zoom App Marketplace → your app → Features → Access → Secret Token).'

/** How .env.example's placeholders begin: a copied example must not run with one as its Secret Token. */
const PLACEHOLDER = /^replace-with-/

/** Name of the app configured from `ZOOM_WEBHOOK_SECRET_TOKEN`; file apps may not use it. */
export const ENV_APP_NAME = 'default'

/**
 * How much of the configuration a command needs.
 * - `full`: everything, as the relay runs (and `config check` shows).
 * - `partial`: what operator and support commands use. The Zoom secrets are
 *   not needed, and an unset `${VAR}` in `CONFIG_FILE` (or a missing part of
 *   the env-configured app) is set aside with the app and destination it
 *   concerns: `requireResolved()` raises those of the destination a command
 *   works on. Wrong values are still errors.
 */
export type LoadMode = 'full' | 'partial'

export interface LoadOptions {
  /** @defaultValue `full` */
  mode?: LoadMode
}

/** Problems a partial load set aside, per loaded configuration. */
const setAside = new WeakMap<Config, readonly DeferredProblem[]>()

/**
 * Builds the typed configuration from the environment (and `CONFIG_FILE`).
 * Throws one `ConfigError` that lists every wrong or missing variable.
 */
export function loadConfig (env: Readonly<Record<string, string | undefined>> = process.env, options: LoadOptions = {}): Config {
  const partial = options.mode === 'partial'
  const read = new EnvReader(env)
  const deferred: DeferredProblem[] = []
  const apps: AppConfig[] = []

  const envApp = readEnvApp(read, partial ? deferred : undefined)
  if (envApp !== undefined) apps.push(envApp)

  const file = configFilePath(env)
  if (file !== undefined) {
    for (const app of readConfigFile(file, env, read.problems, partial ? deferred : undefined)) {
      if (apps.some(other => other.name === app.name)) {
        read.problems.push(`CONFIG_FILE: app name "${app.name}" is used twice${app.name === ENV_APP_NAME ? ' ("default" is the app configured from ZOOM_WEBHOOK_SECRET_TOKEN)' : ''}. Rename one.`)
      } else {
        apps.push(app)
      }
    }
  }
  // Neither variable set and no file to read apps from: say so, whatever else is wrong (a bad
  // RECALL_REGION must not hide it). A file that failed to load has already said why.
  const envAppNamed = read.string('ZOOM_WEBHOOK_SECRET_TOKEN') !== undefined || read.string('RECALL_ZOOM_OAUTH_APP_ID') !== undefined
  if (!partial && apps.length === 0 && !envAppNamed && (file === undefined || read.problems.length === 0)) {
    read.problems.push(`ZOOM_WEBHOOK_SECRET_TOKEN is not set. ${SECRET_TOKEN_HELP} Or set CONFIG_FILE to a file listing your apps.`)
  }

  const redis = readRedisTarget(read)

  const deliveryTimeoutMs = read.integer('DELIVERY_TIMEOUT_MS', 10_000, 100, 120_000)
  const host = read.string('HOST') ?? '0.0.0.0'
  const config: Config = {
    apps,
    redis,
    redisPrefix: read.string('REDIS_PREFIX') ?? 'zoom-relay',
    redisMinReplicas: read.integer('REDIS_MIN_REPLICAS', 0, 0, 10),
    host,
    port: read.integer('PORT', 8080, 0, 65_535),
    metricsPort: read.integer('METRICS_PORT', 9464, 0, 65_535),
    metricsHost: read.string('METRICS_HOST') ?? host,
    trustedProxies: readTrustedProxies(read),
    logLevel: read.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
    signatureToleranceSeconds: read.integer('SIGNATURE_TOLERANCE_SECONDS', 300, 1, 86_400),
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', 1_048_576, 1024, 64 * 1_048_576),
    httpRequestTimeoutMs: read.integer('HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 300_000),
    httpMaxConnections: read.integer('HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    enqueueTimeoutMs: read.integer('ENQUEUE_TIMEOUT_MS', 1500, 50, 2500),
    deliveryTimeoutMs,
    deliveryConcurrency: read.integer('DELIVERY_CONCURRENCY', 16, 1, 1000),
    retry: {
      attempts: read.integer('RETRY_ATTEMPTS', 36, 1, 1000),
      baseDelayMs: read.integer('RETRY_BASE_DELAY_MS', 1000, 1, 3_600_000),
      maxDelayMs: read.integer('RETRY_MAX_DELAY_MS', 3_600_000, 1, 86_400_000),
      retryAfterMaxMs: read.integer('RETRY_AFTER_MAX_MS', 3_600_000, 0, 86_400_000)
    },
    circuitBreaker: {
      failures: read.integer('CIRCUIT_BREAKER_FAILURES', 10, 0, 100_000),
      maxProbeIntervalMs: read.integer('CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS', 60_000, 1000, 3_600_000)
    },
    completedJobsKept: read.integer('COMPLETED_JOBS_KEPT', 1000, 0),
    deadLetterRetentionSeconds: read.integer('DEAD_LETTER_RETENTION_SECONDS', 1_209_600, 60),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000),
    dedupWindowSeconds: read.integer('DEDUP_WINDOW_SECONDS', 7200, 0, 7 * 86_400),
    history: readHistoryRetention(read),
    oauthStateTtlSeconds: read.integer('OAUTH_STATE_TTL_SECONDS', 600, 30, 3600),
    oauthRateLimitPerMinute: read.integer('OAUTH_RATE_LIMIT_PER_MINUTE', 30, 1, 100_000),
    providerApiTimeoutMs: read.integer('PROVIDER_API_TIMEOUT_MS', 10_000, 100, 120_000),
    providerApiRetries: read.integer('PROVIDER_API_RETRIES', 3, 0, 10)
  }
  if (config.redisMinReplicas > 0 && (redis.kind === 'cluster' || redis.kind === 'embedded')) {
    read.problems.push('REDIS_MIN_REPLICAS needs REDIS_URL or REDIS_SENTINELS (a single master with replicas); unset it for Cluster or the embedded Redis.')
  }
  const adminToken = read.string('ADMIN_TOKEN')
  if (adminToken !== undefined) {
    if (adminToken.length < 16) read.problems.push('ADMIN_TOKEN is shorter than 16 characters. Use a long random value (e.g. openssl rand -hex 32).')
    // Loopback unless said otherwise: HOST is 0.0.0.0 so that Zoom reaches the webhooks, the admin must not follow it.
    config.admin = { token: adminToken, host: read.string('ADMIN_HOST') ?? '127.0.0.1', port: read.integer('ADMIN_PORT', 9465, 0, 65_535) }
  }
  const stateSecret = read.string('OAUTH_STATE_SECRET')
  if (stateSecret !== undefined) {
    if (stateSecret.length < 32) read.problems.push('OAUTH_STATE_SECRET is shorter than 32 characters. Use a long random value (e.g. openssl rand -hex 32), the same on every web process, or unset it to derive the key from each app\'s Zoom Secret Token.')
    config.oauthStateSecret = stateSecret
  }
  const tracing = readTracingConfig(read)
  if (tracing !== undefined) config.tracing = tracing
  // Zoom's timestamp is accepted for SIGNATURE_TOLERANCE_SECONDS: a captured request replayed after its
  // body left the de-duplication window would be stored and relayed again.
  if (config.dedupWindowSeconds > 0 && config.dedupWindowSeconds <= config.signatureToleranceSeconds) {
    read.problems.push(`DEDUP_WINDOW_SECONDS=${config.dedupWindowSeconds} is not longer than SIGNATURE_TOLERANCE_SECONDS=${config.signatureToleranceSeconds}: a captured webhook could be replayed after its body left the de-duplication window. Set it above ${config.signatureToleranceSeconds} (default 7200), or 0 to turn de-duplication off.`)
  }
  if (config.history.bodyRetentionSeconds > config.history.retentionSeconds) {
    read.problems.push(`EVENT_BODY_RETENTION_SECONDS=${config.history.bodyRetentionSeconds} is longer than EVENT_RETENTION_SECONDS=${config.history.retentionSeconds}: a body cannot outlive its event. Set it to at most ${config.history.retentionSeconds}, or unset it to keep bodies as long as events.`)
  }
  if (config.port !== 0 && config.port === config.metricsPort) {
    read.problems.push(`PORT and METRICS_PORT are both ${config.port}. Give the metrics server its own port.`)
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  if (partial) setAside.set(config, deferred)
  return config
}

/** `CONFIG_FILE` as the relay reads it: an absolute path (relative to the working directory), or undefined. */
export function configFilePath (env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const file = new EnvReader(env).string('CONFIG_FILE')
  return file === undefined ? undefined : resolve(file)
}

/**
 * For a command that works on one destination of a partially loaded
 * configuration: throws the `ConfigError` of what that destination lacks
 * (an unset `${VAR}` in its settings, a missing RECALL_ZOOM_OAUTH_APP_ID).
 */
export function requireResolved (config: Config, app: string, destination: string): void {
  const problems = (setAside.get(config) ?? []).filter(p => p.app === app && p.destination === destination).map(p => p.message)
  if (problems.length > 0) throw new ConfigError(problems)
}

/**
 * The app configured from ZOOM_WEBHOOK_SECRET_TOKEN and RECALL_*. With `deferred`
 * (a partial load) the token is not needed and what is missing is set aside.
 */
function readEnvApp (read: EnvReader, deferred?: DeferredProblem[]): AppConfig | undefined {
  const token = read.string('ZOOM_WEBHOOK_SECRET_TOKEN')
  const appId = read.string('RECALL_ZOOM_OAUTH_APP_ID')
  const region = read.oneOf('RECALL_REGION', RECALL_REGIONS, 'us-east-1')
  const baseUrl = read.baseUrl('RECALL_BASE_URL') ?? recallRegionBaseUrl(region)
  const missing = (message: string, destination?: string): void => {
    if (deferred === undefined) read.problems.push(message)
    else deferred.push({ app: ENV_APP_NAME, ...(destination === undefined ? {} : { destination }), message })
  }
  if (token === undefined && (deferred === undefined || appId === undefined)) {
    if (appId !== undefined) missing(`ZOOM_WEBHOOK_SECRET_TOKEN is not set (RECALL_ZOOM_OAUTH_APP_ID is). ${SECRET_TOKEN_HELP}`)
    return undefined
  }
  if (appId === undefined) {
    missing('RECALL_ZOOM_OAUTH_APP_ID is not set. Set it to the id Recall returned when you created the Zoom OAuth App (POST /api/v2/zoom-oauth-apps/).', 'recall')
    if (deferred === undefined) return undefined
  }
  const previous = read.string('ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS')
  for (const [name, value] of [['ZOOM_WEBHOOK_SECRET_TOKEN', token], ['ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS', previous]] as const) {
    if (value !== undefined && PLACEHOLDER.test(value)) read.problems.push(`${name} is still the placeholder of .env.example. ${SECRET_TOKEN_HELP}`)
  }
  const apiKey = read.string('RECALL_API_KEY')
  const recall: DestinationConfig = { name: 'recall', kind: 'recall', url: recallWebhookUrl(baseUrl, appId ?? ''), headers: {} }
  if (apiKey !== undefined) recall.api = { baseUrl, apiKey, appId: appId ?? '' }
  const app: AppConfig = {
    name: ENV_APP_NAME,
    path: '/zoom/webhook',
    secretTokens: [token, previous].filter(t => t !== undefined),
    destinations: [recall]
  }

  // The same rules as the file's oauth and deauthorization sections, reported by variable name.
  const report = (path: DocumentPath, message: string): void => {
    const field = String(path.at(-1))
    missing(field === 'destination'
      ? 'RECALL_API_KEY is not set: the Zoom OAuth flow (ZOOM_CLIENT_ID, ZOOM_OAUTH_REDIRECT_URI) registers codes with Recall using your API key.'
      : `${ENV_NAMES[field] ?? field} ${message}`)
  }
  const clientId = read.string('ZOOM_CLIENT_ID')
  const redirectUri = read.string('ZOOM_OAUTH_REDIRECT_URI')
  if (clientId !== undefined || redirectUri !== undefined) {
    const oauth = readOAuth({ clientId, redirectUri, successUrl: read.string('ZOOM_OAUTH_SUCCESS_URL'), authorizeUrl: read.string('ZOOM_OAUTH_AUTHORIZE_URL') }, app.destinations, ['oauth'], report)
    if (oauth !== undefined) app.oauth = oauth
  }
  const cleanup = read.oneOf('DEAUTHORIZATION_CLEANUP', ['true', 'false'], 'true') === 'true'
  const deauthorization = deauthorizationRules({ cleanup, match: read.oneOf('DEAUTHORIZATION_MATCH', ['user', 'account'] as const, 'user') }, app.destinations, ['deauthorization'], report)
  if (deauthorization !== undefined) app.deauthorization = deauthorization
  return app
}

/** Environment variable behind each field of the env-configured app. */
const ENV_NAMES: Readonly<Record<string, string>> = {
  clientId: 'ZOOM_CLIENT_ID',
  redirectUri: 'ZOOM_OAUTH_REDIRECT_URI',
  successUrl: 'ZOOM_OAUTH_SUCCESS_URL',
  authorizeUrl: 'ZOOM_OAUTH_AUTHORIZE_URL'
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal']

/** `TRUSTED_PROXIES`: comma-separated IP addresses, CIDR ranges or proxy-addr's names. */
function readTrustedProxies (read: EnvReader): string[] {
  const raw = read.string('TRUSTED_PROXIES')
  if (raw === undefined) return []
  const entries = raw.split(',').map(s => s.trim()).filter(Boolean)
  const bad = entries.filter(entry => !PROXY_NAMES.includes(entry) && !isAddressOrRange(entry))
  if (entries.length === 0 || bad.length > 0) {
    read.problems.push(`TRUSTED_PROXIES="${raw}" must list IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal) separated by commas, e.g. 10.0.0.0/8,127.0.0.1${bad.length > 0 ? `; not understood: ${bad.join(', ')}` : ''}. Unset it when no proxy sets X-Forwarded-For.`)
    return []
  }
  return entries
}

function isAddressOrRange (entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/** `REDIS_URL`, `REDIS_SENTINELS` (+ master name) or `REDIS_CLUSTER_NODES`; none of them: embedded. */
function readRedisTarget (read: EnvReader): RedisTarget {
  const url = read.string('REDIS_URL')
  const sentinels = read.string('REDIS_SENTINELS')
  const cluster = read.string('REDIS_CLUSTER_NODES')
  const given = [url, sentinels, cluster].filter(v => v !== undefined).length
  if (given > 1) read.problems.push('Set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES.')
  const auth = (): RedisAuth => ({
    ...(read.string('REDIS_USERNAME') === undefined ? {} : { username: read.string('REDIS_USERNAME') }),
    ...(read.string('REDIS_PASSWORD') === undefined ? {} : { password: read.string('REDIS_PASSWORD') }),
    tls: read.oneOf('REDIS_TLS', ['true', 'false'], 'false') === 'true'
  })
  if (sentinels !== undefined) {
    return { kind: 'sentinel', sentinels: hostPorts(read, 'REDIS_SENTINELS', sentinels, 26379), name: read.string('REDIS_SENTINEL_MASTER_NAME') ?? 'mymaster', auth: auth() }
  }
  if (cluster !== undefined) return { kind: 'cluster', nodes: hostPorts(read, 'REDIS_CLUSTER_NODES', cluster, 6379), auth: auth() }
  if (url === undefined) return { kind: 'embedded', dataDir: resolve(read.string('REDIS_DATA_DIR') ?? '.data/redis') }
  if (!/^(rediss?|unix):\/\//.test(url)) {
    read.problems.push(`REDIS_URL="${redactUrl(url)}" must start with redis://, rediss:// or unix://. Unset it to start an embedded redis-server.`)
  }
  return { kind: 'url', url }
}

/** `host:port,host:port` (port optional). */
function hostPorts (read: EnvReader, name: string, raw: string, defaultPort: number): HostPort[] {
  const list = raw.split(',').map(s => s.trim()).filter(Boolean).map(entry => {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(entry)
    return match === null ? undefined : { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: match[2] === undefined ? defaultPort : Number(match[2]) }
  })
  if (list.length === 0 || list.some(e => e === undefined || e.port < 1 || e.port > 65_535)) {
    read.problems.push(`${name}="${raw}" must list host:port pairs separated by commas, e.g. redis-0:${defaultPort},redis-1:${defaultPort}.`)
    return []
  }
  return list as HostPort[]
}

/**
 * Hides the credentials in a Redis URL so it can be shown in errors and logs.
 * The userinfo ends at the last "@" of the authority (as WHATWG URL and
 * ioredis read it), so a password containing "@" is hidden whole.
 */
export function redactUrl (url: string): string {
  return url.replace(/\/\/[^/?#]*@/, '//***@')
}

/** EVENT_RETENTION_SECONDS, EVENT_RETENTION_MAX_EVENTS, EVENT_BODY_RETENTION_SECONDS, EVENT_BODY_COMPRESSION (retentions checked against each other by the caller). */
function readHistoryRetention (read: EnvReader): HistoryRetention {
  const retentionSeconds = read.integer('EVENT_RETENTION_SECONDS', 86_400, 0, 366 * 86_400)
  return {
    retentionSeconds,
    maxEvents: read.integer('EVENT_RETENTION_MAX_EVENTS', 500_000, 1, 100_000_000),
    bodyRetentionSeconds: read.integer('EVENT_BODY_RETENTION_SECONDS', retentionSeconds, 0, 366 * 86_400),
    compressBodies: read.oneOf('EVENT_BODY_COMPRESSION', ['deflate', 'off'], 'deflate') === 'deflate'
  }
}
