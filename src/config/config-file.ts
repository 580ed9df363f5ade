import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { RECALL_REGIONS, type AppConfig, type DeauthorizationConfig, type DestinationConfig, type EventFilter, type OAuthConfig, type RecallRegion } from './config.js'
import { checkHttpUrl } from './env-reader.js'
import { attendeeWebhookUrl, recallRegionBaseUrl, recallWebhookUrl } from '../relay/destination-url.js'
import { EVENT_PATTERN } from '../relay/event-filter.js'
import { FORWARDED_HEADERS } from '../ingress/forwarded-headers.js'

/** App names become URL path segments, queue names and metric labels. */
export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Reads the multi-app file named by `CONFIG_FILE` (YAML or JSON; JSON is YAML).
 * `${VAR}` anywhere in a string is replaced by that environment variable, so
 * secrets never need to live in the file. Problems are appended to `problems`.
 */
export function readConfigFile (
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[]
): AppConfig[] {
  let document: unknown
  try {
    document = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    problems.push(`CONFIG_FILE="${file}" cannot be read as YAML or JSON: ${(err as Error).message}`)
    return []
  }
  const where = (path: string): string => `CONFIG_FILE ${path}`
  const resolved = substituteEnv(document, env, '', (path, name) =>
    problems.push(`${where(path)} refers to \${${name}}, which is not set. Export ${name} or change the file.`))

  if (!isRecord(resolved) || !Array.isArray(resolved.apps) || resolved.apps.length === 0) {
    problems.push(`${where('')}must have a non-empty "apps" list, e.g. apps: [{ name: sales, secretTokens: ["\${SALES_SECRET}"], destinations: [{ type: recall, appId: "…" }] }].`)
    return []
  }
  const apps: AppConfig[] = []
  resolved.apps.forEach((raw: unknown, i: number) => {
    const app = readApp(raw, `apps[${i}]`, (path, message) => problems.push(`${where(path)}: ${message}`))
    if (app !== undefined) apps.push(app)
  })
  return apps
}

type Report = (path: string, message: string) => void

function readApp (raw: unknown, path: string, report: Report): AppConfig | undefined {
  if (!isRecord(raw)) {
    report(path, 'must be an object with name, secretTokens and destinations.')
    return undefined
  }
  const name = raw.name
  if (typeof name !== 'string' || !APP_NAME_PATTERN.test(name)) {
    report(`${path}.name`, 'must be lower-case letters, digits, "-" or "_" (at most 63), starting with a letter or digit.')
    return undefined
  }
  const tokens = raw.secretTokens ?? (raw.secretToken === undefined ? undefined : [raw.secretToken])
  if (!Array.isArray(tokens) || tokens.length < 1 || tokens.length > 2 || !tokens.every(t => typeof t === 'string' && t.length > 0)) {
    report(`${path}.secretTokens`, 'must list one or two non-empty Zoom Secret Tokens (two during a rotation), e.g. ["${ZOOM_SECRET}"].')
    return undefined
  }
  if (!Array.isArray(raw.destinations) || raw.destinations.length === 0) {
    report(`${path}.destinations`, 'must list at least one destination, e.g. [{ type: recall, appId: "…", region: us-east-1 }].')
    return undefined
  }
  const destinations: DestinationConfig[] = []
  raw.destinations.forEach((d: unknown, i: number) => {
    const destination = readDestination(d, `${path}.destinations[${i}]`, report)
    if (destination === undefined) return
    if (destinations.some(other => other.name === destination.name)) {
      report(`${path}.destinations[${i}].name`, `"${destination.name}" is used twice in this app; give each destination its own name.`)
      return
    }
    destinations.push(destination)
  })
  if (destinations.length !== raw.destinations.length) return undefined
  const app: AppConfig = { name, path: `/zoom/webhook/${name}`, secretTokens: tokens as string[], destinations }
  const oauth = raw.oauth === undefined ? undefined : readOAuth(raw.oauth, destinations, `${path}.oauth`, report)
  if (oauth !== undefined) app.oauth = oauth
  const deauthorization = readDeauthorization(raw.deauthorization, destinations, `${path}.deauthorization`, report)
  if (deauthorization !== undefined) app.deauthorization = deauthorization
  return app
}

/** The destination that can call its provider's API: the named one, or the only one with an `apiKey`. */
function apiDestination (
  destinations: readonly DestinationConfig[],
  named: unknown,
  kinds: ReadonlyArray<DestinationConfig['kind']>,
  path: string,
  report: Report
): DestinationConfig | undefined {
  const candidates = destinations.filter(d => d.api !== undefined && kinds.includes(d.kind))
  if (named !== undefined) {
    const found = candidates.find(d => d.name === named)
    if (found === undefined) report(path, `"${String(named)}" is not a ${kinds.join(' or ')} destination of this app with an apiKey.`)
    return found
  }
  if (candidates.length === 1) return candidates[0]
  report(path, candidates.length === 0
    ? `needs a ${kinds.join(' or ')} destination with an apiKey (e.g. apiKey: "\${RECALL_API_KEY}").`
    : `is ambiguous: name the destination to use (${candidates.map(d => d.name).join(', ')}).`)
  return undefined
}

export function readOAuth (raw: unknown, destinations: readonly DestinationConfig[], path: string, report: Report): OAuthConfig | undefined {
  if (!isRecord(raw)) {
    report(path, 'must be an object with clientId and redirectUri.')
    return undefined
  }
  const problems = [...OAUTH_FIELDS].filter(([key, required]) => required && (typeof raw[key] !== 'string' || raw[key] === ''))
  for (const [key] of problems) report(`${path}.${key}`, key === 'clientId' ? 'must be your Zoom app\'s Client ID.' : 'must be the Redirect URL for OAuth exactly as registered in Zoom, trailing slash included.')
  const urls = (['redirectUri', 'successUrl', 'authorizeUrl'] as const).filter(key => raw[key] !== undefined && (typeof raw[key] !== 'string' || checkHttpUrl(raw[key]) === undefined))
  for (const key of urls) report(`${path}.${key}`, 'must be an absolute http(s) URL.')
  const registrar = apiDestination(destinations, raw.destination, ['recall', 'attendee'], `${path}.destination`, report)
  if (problems.length > 0 || urls.length > 0 || registrar === undefined) return undefined
  const redirectUri = raw.redirectUri as string
  if (!isServablePath(new URL(redirectUri).pathname)) {
    report(`${path}.redirectUri`, `path "${new URL(redirectUri).pathname}" collides with the relay's own routes; use e.g. /zoom/oauth/callback.`)
    return undefined
  }
  const oauth: OAuthConfig = {
    clientId: raw.clientId as string,
    redirectUri,
    authorizeUrl: (raw.authorizeUrl as string | undefined) ?? DEFAULT_ZOOM_AUTHORIZE_URL,
    registrar: registrar.name
  }
  if (typeof raw.successUrl === 'string') oauth.successUrl = raw.successUrl
  return oauth
}

export function readDeauthorization (raw: unknown, destinations: readonly DestinationConfig[], path: string, report: Report): DeauthorizationConfig | undefined {
  if (raw !== undefined && !isRecord(raw)) {
    report(path, 'must be an object like { cleanup: true, match: user }.')
    return undefined
  }
  const cleanup = raw?.cleanup ?? true
  if (typeof cleanup !== 'boolean') report(`${path}.cleanup`, 'must be true or false.')
  const match = raw?.match ?? 'user'
  if (match !== 'user' && match !== 'account') report(`${path}.match`, 'must be user (user-managed apps) or account (admin-managed apps).')
  if (cleanup !== true || (match !== 'user' && match !== 'account')) return undefined
  // On by default wherever Recall or Attendee can be called; silent when there is no key.
  // Unnamed, Recall comes first (as before Attendee was cleaned up); name an attendee destination to clean that instead.
  const keyed = (kind: DestinationConfig['kind']): boolean => destinations.some(d => d.kind === kind && d.api !== undefined)
  if (raw?.destination === undefined && !keyed('recall') && !keyed('attendee')) return undefined
  const kinds: Array<DestinationConfig['kind']> = raw?.destination !== undefined ? ['recall', 'attendee'] : keyed('recall') ? ['recall'] : ['attendee']
  const destination = apiDestination(destinations, raw?.destination, kinds, `${path}.destination`, report)
  return destination === undefined ? undefined : { destination: destination.name, match }
}

const OAUTH_FIELDS: ReadonlyMap<string, boolean> = new Map([['clientId', true], ['redirectUri', true]])

export const DEFAULT_ZOOM_AUTHORIZE_URL = 'https://zoom.us/oauth/authorize'

/** Paths the relay serves itself; an OAuth callback may not take one of them. */
function isServablePath (pathname: string): boolean {
  return !['/healthz', '/readyz', '/zoom/oauth/install'].includes(pathname) && !pathname.startsWith('/zoom/webhook')
}

function readDestination (raw: unknown, path: string, report: Report): DestinationConfig | undefined {
  if (!isRecord(raw) || typeof raw.type !== 'string') {
    report(path, 'must be an object with a "type" of recall, attendee or http.')
    return undefined
  }
  const name = raw.name ?? raw.type
  if (typeof name !== 'string' || !APP_NAME_PATTERN.test(name)) {
    report(`${path}.name`, 'must be lower-case letters, digits, "-" or "_".')
    return undefined
  }
  const baseUrl = (): string | undefined => {
    if (raw.baseUrl === undefined) return undefined
    const url = typeof raw.baseUrl === 'string' ? checkHttpUrl(raw.baseUrl) : undefined
    if (url === undefined) report(`${path}.baseUrl`, 'must be an absolute http(s) URL.')
    return url?.replace(/\/+$/, '')
  }
  const appId = (): string | undefined => {
    if (typeof raw.appId === 'string' && raw.appId.length > 0) return raw.appId
    report(`${path}.appId`, `must be the ${raw.type === 'recall' ? 'Recall Zoom OAuth App id' : 'Attendee Zoom OAuth app id (zoa_…)'}.`)
    return undefined
  }

  const destination = readDestinationTarget(raw, name, path, report, baseUrl, appId)
  if (destination === undefined) return undefined
  const extras = readDestinationExtras(raw, destination, path, report)
  const settings = readDestinationSettings(raw, destination, path, report)
  return extras && settings ? destination : undefined
}

function readDestinationTarget (
  raw: Record<string, unknown>,
  name: string,
  path: string,
  report: Report,
  baseUrl: () => string | undefined,
  appId: () => string | undefined
): DestinationConfig | undefined {
  switch (raw.type) {
    case 'recall': {
      const region = raw.region ?? 'us-east-1'
      if (!RECALL_REGIONS.includes(region as RecallRegion)) {
        report(`${path}.region`, `must be one of ${RECALL_REGIONS.join(', ')}.`)
        return undefined
      }
      const id = appId()
      const base = baseUrl() ?? (raw.baseUrl === undefined ? recallRegionBaseUrl(region as RecallRegion) : undefined)
      if (id === undefined || base === undefined) return undefined
      return { name, kind: 'recall', url: recallWebhookUrl(base, id), headers: {}, ...apiAccess(raw, base, id) }
    }
    case 'attendee': {
      const id = appId()
      const base = baseUrl()
      if (raw.baseUrl === undefined) report(`${path}.baseUrl`, 'is required for attendee, e.g. https://app.attendee.dev or your self-hosted URL.')
      if (id === undefined || base === undefined) return undefined
      return { name, kind: 'attendee', url: attendeeWebhookUrl(base, id), headers: {}, ...apiAccess(raw, base, id) }
    }
    case 'http': {
      const url = typeof raw.url === 'string' ? checkHttpUrl(raw.url) : undefined
      if (url === undefined) {
        report(`${path}.url`, 'must be an absolute http(s) URL.')
        return undefined
      }
      return { name, kind: 'http', url, headers: {} }
    }
    default:
      report(`${path}.type`, `"${raw.type}" is not one of recall, attendee, http.`)
      return undefined
  }
}

function apiAccess (raw: Record<string, unknown>, baseUrl: string, appId: string): Pick<DestinationConfig, 'api'> {
  return typeof raw.apiKey === 'string' && raw.apiKey !== '' ? { api: { baseUrl, apiKey: raw.apiKey, appId } } : {}
}

/** Headers the relay owns: a static header may not replace Zoom's or HTTP's own. */
const RESERVED_HEADERS = new Set([...FORWARDED_HEADERS, 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i

/** `headers`, `events`, `apiKey` and Attendee's flags; false when any is wrong (already reported). */
function readDestinationExtras (raw: Record<string, unknown>, destination: DestinationConfig, path: string, report: Report): boolean {
  let ok = true
  const fail = (where: string, message: string): void => { report(`${path}.${where}`, message); ok = false }

  if (raw.headers !== undefined) {
    if (destination.kind !== 'http') fail('headers', 'are only for http destinations: Recall and Attendee get exactly what Zoom sent.')
    else if (!isRecord(raw.headers)) fail('headers', 'must map header names to strings, e.g. { x-api-key: "${CRM_API_KEY}" }.')
    else {
      for (const [key, value] of Object.entries(raw.headers)) {
        const lower = key.toLowerCase()
        if (!HEADER_NAME.test(key) || RESERVED_HEADERS.has(lower) || lower.startsWith('x-zm-')) fail(`headers.${key}`, 'is not a header name the relay can set (Zoom\'s and HTTP\'s own headers are reserved).')
        else if (typeof value !== 'string' || /[\r\n\0]/.test(value)) fail(`headers.${key}`, 'must be a one-line string.')
        else destination.headers[lower] = value
      }
    }
  }

  if (raw.events !== undefined) {
    const filter = readEventFilter(raw.events, `${path}.events`, report)
    if (filter === undefined) ok = false
    else destination.events = filter
  }

  if (raw.apiKey !== undefined) {
    if (destination.kind === 'http') fail('apiKey', 'is only for recall and attendee destinations.')
    else if (typeof raw.apiKey !== 'string' || raw.apiKey === '') fail('apiKey', 'must be a non-empty string, e.g. "${RECALL_API_KEY}".')
  }

  for (const flag of ['isLocalRecordingTokenSupported', 'isOnbehalfTokenSupported'] as const) {
    if (raw[flag] === undefined) continue
    if (destination.kind !== 'attendee') fail(flag, 'is only for attendee destinations.')
    else if (typeof raw[flag] !== 'boolean') fail(flag, 'must be true or false.')
  }
  if (destination.kind === 'attendee') {
    // Attendee's own defaults: local recording token on, on-behalf token off.
    destination.attendeeConnection = {
      isLocalRecordingTokenSupported: raw.isLocalRecordingTokenSupported !== false,
      isOnbehalfTokenSupported: raw.isOnbehalfTokenSupported === true
    }
  }
  return ok
}

/**
 * The per-destination delivery settings (`timeoutMs`, `concurrency`, `retry`,
 * `rateLimit`, `circuitBreaker`); false when any is wrong (already reported).
 */
function readDestinationSettings (raw: Record<string, unknown>, destination: DestinationConfig, path: string, report: Report): boolean {
  let ok = true
  const int = (value: unknown, where: string, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value
    report(`${path}.${where}`, `must be a whole number from ${min} to ${max}.`)
    ok = false
    return undefined
  }
  const object = (value: unknown, where: string, example: string): Record<string, unknown> | undefined => {
    if (value === undefined) return undefined
    if (isRecord(value)) return value
    report(`${path}.${where}`, `must be an object, e.g. ${example}.`)
    ok = false
    return undefined
  }
  const timeoutMs = int(raw.timeoutMs, 'timeoutMs', 100, 120_000)
  if (timeoutMs !== undefined) destination.timeoutMs = timeoutMs
  const concurrency = int(raw.concurrency, 'concurrency', 1, 1000)
  if (concurrency !== undefined) destination.concurrency = concurrency
  const retry = object(raw.retry, 'retry', '{ attempts: 10, baseDelayMs: 1000, maxDelayMs: 600000 }')
  if (retry !== undefined) {
    const attempts = int(retry.attempts, 'retry.attempts', 1, 1000)
    const baseDelayMs = int(retry.baseDelayMs, 'retry.baseDelayMs', 1, 3_600_000)
    const maxDelayMs = int(retry.maxDelayMs, 'retry.maxDelayMs', 1, 86_400_000)
    destination.retry = {
      ...(attempts === undefined ? {} : { attempts }),
      ...(baseDelayMs === undefined ? {} : { baseDelayMs }),
      ...(maxDelayMs === undefined ? {} : { maxDelayMs })
    }
  }
  const rate = object(raw.rateLimit, 'rateLimit', '{ perSecond: 50 }')
  if (rate !== undefined) {
    const perSecond = int(rate.perSecond, 'rateLimit.perSecond', 1, 100_000)
    if (perSecond !== undefined) destination.rateLimit = { perSecond }
    else if (rate.perSecond === undefined) { report(`${path}.rateLimit.perSecond`, 'is required, e.g. { perSecond: 50 }.'); ok = false }
  }
  if (raw.circuitBreaker === false) destination.circuitBreaker = false
  else {
    const breaker = object(raw.circuitBreaker, 'circuitBreaker', '{ failures: 10, maxProbeIntervalMs: 60000 } or false')
    if (breaker !== undefined) {
      const failures = int(breaker.failures, 'circuitBreaker.failures', 1, 100_000)
      const maxProbeIntervalMs = int(breaker.maxProbeIntervalMs, 'circuitBreaker.maxProbeIntervalMs', 1000, 3_600_000)
      destination.circuitBreaker = {
        ...(failures === undefined ? {} : { failures }),
        ...(maxProbeIntervalMs === undefined ? {} : { maxProbeIntervalMs })
      }
    }
  }
  return ok
}

function readEventFilter (raw: unknown, path: string, report: Report): EventFilter | undefined {
  if (!isRecord(raw) || Object.keys(raw).some(k => k !== 'include' && k !== 'exclude')) {
    report(path, 'must be { include: [...] } and/or { exclude: [...] } with Zoom event names (meeting.created) or prefixes (meeting.*).')
    return undefined
  }
  const filter: EventFilter = {}
  for (const key of ['include', 'exclude'] as const) {
    const list = raw[key]
    if (list === undefined) continue
    if (!Array.isArray(list) || list.length === 0 || !list.every(e => typeof e === 'string' && EVENT_PATTERN.test(e))) {
      report(`${path}.${key}`, 'must be a non-empty list of Zoom event names (meeting.created) or prefixes (meeting.*).')
      return undefined
    }
    filter[key] = list as string[]
  }
  return filter
}

function substituteEnv (
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: string,
  missing: (path: string, name: string) => void
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_, name: string) => {
      const resolved = env[name]
      if (resolved === undefined || resolved === '') {
        missing(path, name)
        return ''
      }
      return resolved
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${path}[${i}]`, missing))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) =>
      [k, substituteEnv(v, env, path === '' ? k : `${path}.${k}`, missing)]))
  }
  return value
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
