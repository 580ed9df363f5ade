import { resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { RECALL_REGIONS, type AppConfig, type Config, type DestinationConfig, type HostPort, type RedisAuth, type RedisTarget } from './config.js'
import { readConfigFile, readDeauthorization, readOAuth } from './config-file.js'
import { EnvReader } from './env-reader.js'
import { recallRegionBaseUrl, recallWebhookUrl } from '../relay/destination-url.js'

const SECRET_TOKEN_HELP = 'Set it to your Zoom app\'s Secret Token (Zoom App Marketplace → your app → Features → Access → Secret Token).'

/** How .env.example's placeholders begin: a copied example must not run with one as its Secret Token. */
const PLACEHOLDER = /^replace-with-/

/** Name of the app configured from `ZOOM_WEBHOOK_SECRET_TOKEN`; file apps may not use it. */
export const ENV_APP_NAME = 'default'

/**
 * Builds the typed configuration from the environment (and `CONFIG_FILE`).
 * Throws one `ConfigError` that lists every wrong or missing variable.
 */
export function loadConfig (env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const read = new EnvReader(env)
  const apps: AppConfig[] = []

  const envApp = readEnvApp(read)
  if (envApp !== undefined) apps.push(envApp)

  const file = read.string('CONFIG_FILE')
  if (file !== undefined) {
    for (const app of readConfigFile(resolve(file), env, read.problems)) {
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
  if (apps.length === 0 && !envAppNamed && (file === undefined || read.problems.length === 0)) {
    read.problems.push(`ZOOM_WEBHOOK_SECRET_TOKEN is not set. ${SECRET_TOKEN_HELP} Or set CONFIG_FILE to a file listing your apps.`)
  }

  const redis = readRedisTarget(read)

  const deliveryTimeoutMs = read.integer('DELIVERY_TIMEOUT_MS', 10_000, 100, 120_000)
  const config: Config = {
    apps,
    redis,
    redisPrefix: read.string('REDIS_PREFIX') ?? 'zoom-relay',
    redisMinReplicas: read.integer('REDIS_MIN_REPLICAS', 0, 0, 10),
    host: read.string('HOST') ?? '0.0.0.0',
    port: read.integer('PORT', 8080, 0, 65_535),
    metricsPort: read.integer('METRICS_PORT', 9464, 0, 65_535),
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
    completedJobsKept: read.integer('COMPLETED_JOBS_KEPT', 1000, 0),
    deadLetterRetentionSeconds: read.integer('DEAD_LETTER_RETENTION_SECONDS', 1_209_600, 60),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000),
    dedupWindowSeconds: read.integer('DEDUP_WINDOW_SECONDS', 7200, 0, 7 * 86_400),
    oauthStateTtlSeconds: read.integer('OAUTH_STATE_TTL_SECONDS', 600, 30, 3600),
    providerApiTimeoutMs: read.integer('PROVIDER_API_TIMEOUT_MS', 10_000, 100, 120_000),
    providerApiRetries: read.integer('PROVIDER_API_RETRIES', 3, 0, 10)
  }
  if (config.redisMinReplicas > 0 && (redis.kind === 'cluster' || redis.kind === 'embedded')) {
    read.problems.push('REDIS_MIN_REPLICAS needs REDIS_URL or REDIS_SENTINELS (a single master with replicas); unset it for Cluster or the embedded Redis.')
  }
  const adminToken = read.string('ADMIN_TOKEN')
  if (adminToken !== undefined) {
    if (adminToken.length < 16) read.problems.push('ADMIN_TOKEN is shorter than 16 characters. Use a long random value (e.g. openssl rand -hex 32).')
    config.admin = { token: adminToken, host: read.string('ADMIN_HOST') ?? config.host, port: read.integer('ADMIN_PORT', 9465, 0, 65_535) }
  }
  // Zoom's timestamp is accepted for SIGNATURE_TOLERANCE_SECONDS: a captured request replayed after its
  // body left the de-duplication window would be stored and relayed again.
  if (config.dedupWindowSeconds > 0 && config.dedupWindowSeconds <= config.signatureToleranceSeconds) {
    read.problems.push(`DEDUP_WINDOW_SECONDS=${config.dedupWindowSeconds} is not longer than SIGNATURE_TOLERANCE_SECONDS=${config.signatureToleranceSeconds}: a captured webhook could be replayed after its body left the de-duplication window. Set it above ${config.signatureToleranceSeconds} (default 7200), or 0 to turn de-duplication off.`)
  }
  if (config.port !== 0 && config.port === config.metricsPort) {
    read.problems.push(`PORT and METRICS_PORT are both ${config.port}. Give the metrics server its own port.`)
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return config
}

function readEnvApp (read: EnvReader): AppConfig | undefined {
  const token = read.string('ZOOM_WEBHOOK_SECRET_TOKEN')
  const appId = read.string('RECALL_ZOOM_OAUTH_APP_ID')
  const region = read.oneOf('RECALL_REGION', RECALL_REGIONS, 'us-east-1')
  const baseUrl = read.baseUrl('RECALL_BASE_URL') ?? recallRegionBaseUrl(region)
  if (token === undefined) {
    if (appId !== undefined) read.problems.push(`ZOOM_WEBHOOK_SECRET_TOKEN is not set (RECALL_ZOOM_OAUTH_APP_ID is). ${SECRET_TOKEN_HELP}`)
    return undefined
  }
  if (appId === undefined) {
    read.problems.push('RECALL_ZOOM_OAUTH_APP_ID is not set. Set it to the id Recall returned when you created the Zoom OAuth App (POST /api/v2/zoom-oauth-apps/).')
    return undefined
  }
  const previous = read.string('ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS')
  for (const [name, value] of [['ZOOM_WEBHOOK_SECRET_TOKEN', token], ['ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS', previous]] as const) {
    if (value !== undefined && PLACEHOLDER.test(value)) read.problems.push(`${name} is still the placeholder of .env.example. ${SECRET_TOKEN_HELP}`)
  }
  const apiKey = read.string('RECALL_API_KEY')
  const recall: DestinationConfig = { name: 'recall', kind: 'recall', url: recallWebhookUrl(baseUrl, appId), headers: {} }
  if (apiKey !== undefined) recall.api = { baseUrl, apiKey, appId }
  const app: AppConfig = {
    name: ENV_APP_NAME,
    path: '/zoom/webhook',
    secretTokens: previous === undefined ? [token] : [token, previous],
    destinations: [recall]
  }

  // The same rules as the file's oauth and deauthorization sections, reported by variable name.
  const report = (path: string, message: string): void => {
    read.problems.push(path.endsWith('.destination')
      ? 'RECALL_API_KEY is not set: the Zoom OAuth flow (ZOOM_CLIENT_ID, ZOOM_OAUTH_REDIRECT_URI) registers codes with Recall using your API key.'
      : `${ENV_NAMES[path.split('.').at(-1) ?? ''] ?? path} ${message}`)
  }
  const clientId = read.string('ZOOM_CLIENT_ID')
  const redirectUri = read.string('ZOOM_OAUTH_REDIRECT_URI')
  if (clientId !== undefined || redirectUri !== undefined) {
    const oauth = readOAuth({ clientId, redirectUri, successUrl: read.string('ZOOM_OAUTH_SUCCESS_URL'), authorizeUrl: read.string('ZOOM_OAUTH_AUTHORIZE_URL') }, app.destinations, 'oauth', report)
    if (oauth !== undefined) app.oauth = oauth
  }
  const cleanup = read.oneOf('DEAUTHORIZATION_CLEANUP', ['true', 'false'], 'true') === 'true'
  const deauthorization = readDeauthorization({ cleanup, match: read.oneOf('DEAUTHORIZATION_MATCH', ['user', 'account'], 'user') }, app.destinations, 'deauthorization', report)
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
