import { parseArgs } from 'node:util'
import type { AppConfig, Config, DestinationConfig } from '../../config/config.js'
import { ConfigError } from '../../errors.js'
import { describeEndpoint } from '../../redis/redis-connection.js'
import { EXIT, usageError } from '../cli-error.js'
import type { ConfigLoader } from './command.js'

export const CONFIG_CHECK_USAGE = `Usage: zoom-relay config check [--json]

Loads the configuration exactly as the relay would (environment variables and CONFIG_FILE, whose
format is schema/apps.schema.json) and shows what it understood: each app with its webhook path and
OAuth routes, each destination with its resolved URL, event filter, API access, OAuth/deauthorization
role and delivery settings. Secrets are shown as *** with their length.

Options:
  --json                 JSON for scripts (secrets masked the same way); problems as { "ok": false, "problems": [...] }
  -h, --help

Exit codes: 0 valid, 64 bad usage, 78 bad configuration (every problem listed).`

/** `*** (32 chars)`: enough to spot an empty or truncated secret, nothing of its value. */
export function maskSecret (secret: string): string {
  return `*** (${secret.length} chars)`
}

/** A setting as the relay will use it, and where it comes from. */
interface Setting<T> { value: T, from: 'destination' | 'env' }

/** What `config check --json` prints for one destination. */
export interface DestinationReport {
  name: string
  kind: DestinationConfig['kind']
  url: string
  /** `all`, or the filter. */
  events: 'all' | { include?: string[], exclude?: string[] }
  api: { baseUrl: string, appId: string, apiKey: string } | null
  /** `oauth registrar`, `deauthorization clean-up`. */
  roles: string[]
  headers: Record<string, string>
  attendeeConnection?: DestinationConfig['attendeeConnection']
  settings: {
    timeoutMs: Setting<number>
    concurrency: Setting<number>
    retry: { attempts: Setting<number>, baseDelayMs: Setting<number>, maxDelayMs: Setting<number> }
    rateLimit: Setting<{ perSecond: number } | 'env default'>
    circuitBreaker: Setting<{ failures?: number, maxProbeIntervalMs?: number } | false | 'env default'>
  }
}

export interface AppReport {
  name: string
  /** `POST` path Zoom is pointed at. */
  path: string
  secretTokens: string[]
  oauth: null | {
    installPath: string
    clientId: string
    redirectUri: string
    successUrl: string | null
    authorizeUrl: string
    registrar: string
  }
  deauthorization: null | { destinations: string[], match: 'user' | 'account' }
  destinations: DestinationReport[]
}

export interface ConfigReport {
  ok: true
  configFile: string | null
  redis: string
  apps: AppReport[]
}

function setting<T> (own: T | undefined, fallback: T): Setting<T> {
  return own === undefined ? { value: fallback, from: 'env' } : { value: own, from: 'destination' }
}

function destinationReport (config: Config, app: AppConfig, d: DestinationConfig): DestinationReport {
  const roles = [
    ...(app.oauth?.registrar === d.name ? ['oauth registrar'] : []),
    ...(app.deauthorization?.destinations.includes(d.name) === true ? ['deauthorization clean-up'] : [])
  ]
  return {
    name: d.name,
    kind: d.kind,
    url: d.url,
    events: d.events ?? 'all',
    api: d.api === undefined ? null : { baseUrl: d.api.baseUrl, appId: d.api.appId, apiKey: maskSecret(d.api.apiKey) },
    roles,
    // Static headers often carry a key of your own service: all are masked.
    headers: Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, maskSecret(v)])),
    ...(d.attendeeConnection === undefined ? {} : { attendeeConnection: d.attendeeConnection }),
    settings: {
      timeoutMs: setting(d.timeoutMs, config.deliveryTimeoutMs),
      concurrency: setting(d.concurrency, config.deliveryConcurrency),
      retry: {
        attempts: setting(d.retry?.attempts, config.retry.attempts),
        baseDelayMs: setting(d.retry?.baseDelayMs, config.retry.baseDelayMs),
        maxDelayMs: setting(d.retry?.maxDelayMs, config.retry.maxDelayMs)
      },
      rateLimit: setting<{ perSecond: number } | 'env default'>(d.rateLimit, 'env default'),
      circuitBreaker: setting<{ failures?: number, maxProbeIntervalMs?: number } | false | 'env default'>(d.circuitBreaker, 'env default')
    }
  }
}

/** The configuration as `config check` shows it, every secret masked. */
export function configReport (config: Config, configFile: string | undefined): ConfigReport {
  return {
    ok: true,
    configFile: configFile ?? null,
    redis: config.redis.kind === 'embedded' ? `embedded redis-server, data in ${config.redis.dataDir}` : describeEndpoint(config.redis),
    apps: config.apps.map(app => ({
      name: app.name,
      path: app.path,
      secretTokens: app.secretTokens.map(maskSecret),
      oauth: app.oauth === undefined
        ? null
        : {
            installPath: `/zoom/oauth/install?app=${encodeURIComponent(app.name)}`,
            clientId: app.oauth.clientId,
            redirectUri: app.oauth.redirectUri,
            successUrl: app.oauth.successUrl ?? null,
            authorizeUrl: app.oauth.authorizeUrl,
            registrar: app.oauth.registrar
          },
      deauthorization: app.deauthorization ?? null,
      destinations: app.destinations.map(d => destinationReport(config, app, d))
    }))
  }
}

function text (report: ConfigReport): string {
  const lines = [
    `CONFIG_FILE: ${report.configFile ?? '(not set)'}`,
    `Redis: ${report.redis}`
  ]
  const from = (s: Setting<unknown>): string => s.value === 'env default' ? 'env default' : `${typeof s.value === 'object' ? JSON.stringify(s.value) : String(s.value)}${s.from === 'env' ? ' (env)' : ''}`
  for (const app of report.apps) {
    lines.push('', `app ${app.name}: POST ${app.path}`, `  secret tokens: ${app.secretTokens.join(', ')}`)
    lines.push(app.oauth === null
      ? '  oauth: off'
      : `  oauth: GET ${app.oauth.installPath} → Zoom (client id ${app.oauth.clientId}) → ${app.oauth.redirectUri}; codes registered by ${app.oauth.registrar}; then ${app.oauth.successUrl ?? 'the built-in page'}`)
    lines.push(app.deauthorization === null
      ? '  deauthorization clean-up: off'
      : `  deauthorization clean-up: by ${app.deauthorization.destinations.join(', ')}, credentials/connections of the ${app.deauthorization.match === 'user' ? 'deauthorizing user' : 'whole Zoom account'}`)
    for (const d of app.destinations) {
      const events = d.events === 'all' ? 'all' : [d.events.include === undefined ? '' : `include ${d.events.include.join(', ')}`, d.events.exclude === undefined ? '' : `exclude ${d.events.exclude.join(', ')}`].filter(Boolean).join('; ')
      const s = d.settings
      lines.push(
        `  destination ${d.name} (${d.kind})`,
        `    url: ${d.url}`,
        `    events: ${events}`,
        `    api: ${d.api === null ? 'none (no apiKey)' : `${d.api.baseUrl}, app id ${d.api.appId}, key ${d.api.apiKey}`}`,
        `    role: ${d.roles.length === 0 ? 'delivery only' : d.roles.join(', ')}`
      )
      const headers = Object.entries(d.headers)
      if (headers.length > 0) lines.push(`    headers: ${headers.map(([k, v]) => `${k} ${v}`).join(', ')}`)
      if (d.attendeeConnection !== undefined) lines.push(`    attendee connection: isLocalRecordingTokenSupported ${String(d.attendeeConnection.isLocalRecordingTokenSupported)}, isOnbehalfTokenSupported ${String(d.attendeeConnection.isOnbehalfTokenSupported)}`)
      lines.push(`    settings: timeoutMs ${from(s.timeoutMs)}, concurrency ${from(s.concurrency)}, retry attempts ${from(s.retry.attempts)} baseDelayMs ${from(s.retry.baseDelayMs)} maxDelayMs ${from(s.retry.maxDelayMs)}, rateLimit ${from(s.rateLimit)}, circuitBreaker ${from(s.circuitBreaker)}`)
    }
  }
  return `${lines.join('\n')}\nconfiguration OK: ${report.apps.length} app${report.apps.length === 1 ? '' : 's'}\n`
}

export async function configCheckCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) { out(`${CONFIG_CHECK_USAGE}\n`); return EXIT.ok }
  if (positionals.length > 0) throw usageError(`config check takes no arguments (got ${positionals.join(' ')}).`)
  let config: Config
  try {
    config = load('full')
  } catch (err) {
    // Scripts get the problems on stdout as JSON; people get them on stderr (from main).
    if (!values.json || !(err instanceof ConfigError)) throw err
    out(`${JSON.stringify({ ok: false, problems: err.problems }, null, 2)}\n`)
    return EXIT.config
  }
  const report = configReport(config, load.configFile())
  out(values.json ? `${JSON.stringify(report, null, 2)}\n` : text(report))
  return EXIT.ok
}
