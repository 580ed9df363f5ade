import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import type { AppConfig, DeauthorizationConfig, DestinationConfig, EventFilter, OAuthConfig, RecallRegion } from './config.js'
import { checkHttpUrl } from './env-reader.js'
import { formatPath, validateAppsDocument, validateOAuthSection, type DocumentPath } from './apps-schema.js'
import { attendeeWebhookUrl, recallRegionBaseUrl, recallWebhookUrl } from '../relay/destination-url.js'
import { FORWARDED_HEADERS } from '../ingress/forwarded-headers.js'

/** App names become URL path segments, queue names and metric labels (the schema's `name` pattern). */
export const APP_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/

export const DEFAULT_ZOOM_AUTHORIZE_URL = 'https://zoom.us/oauth/authorize'

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** A problem a partial load set aside, with the app and destination it concerns. */
export interface DeferredProblem {
  message: string
  app?: string
  destination?: string
}

/** Reports a problem at a document path (the caller adds its own prefix). */
export type Report = (path: DocumentPath, message: string) => void

/**
 * Reads the multi-app file named by `CONFIG_FILE` (YAML or JSON; JSON is YAML):
 * `${VAR}` substitution, then schema/apps.schema.json, then the rules a schema
 * cannot say (unique names, which destination registers OAuth codes, …).
 * Problems are appended to `problems`. With `deferred`, an unset `${VAR}` is not
 * a problem: it goes to `deferred` with its app and destination, and the values
 * that needed it are not judged (commands that need only part of the file).
 */
export function readConfigFile (
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
  deferred?: DeferredProblem[]
): AppConfig[] {
  let document: unknown
  try {
    document = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    problems.push(`CONFIG_FILE="${file}" cannot be read as YAML or JSON: ${(err as Error).message}`)
    return []
  }
  const where = (path: DocumentPath): string => `CONFIG_FILE ${formatPath(path)}`
  const unresolved: Array<{ path: DocumentPath, message: string }> = []
  const resolved = substituteEnv(document, env, [], (path, name) =>
    unresolved.push({ path, message: `${where(path)} refers to \${${name}}, which is not set. Export ${name} or change the file.` }))
  if (deferred === undefined) problems.push(...unresolved.map(u => u.message))
  else deferred.push(...unresolved.map(u => ({ ...scopeOf(resolved, u.path), message: u.message })))

  if (!isRecord(resolved) || !Array.isArray(resolved.apps) || resolved.apps.length === 0) {
    problems.push('CONFIG_FILE must have a non-empty "apps" list, e.g. apps: [{ name: sales, secretTokens: ["${SALES_SECRET}"], destinations: [{ type: recall, appId: "…" }] }].')
    return []
  }
  // A value that needed an unset variable has already been reported (or deferred) as such.
  const judged = (path: DocumentPath): boolean => !unresolved.some(u => u.path.every((segment, i) => path[i] === segment))
  const schemaProblems = validateAppsDocument(resolved).filter(p => judged(p.path))
  for (const p of schemaProblems) problems.push(`${where(p.path)}: ${p.message}`)
  const report: Report = (path, message) => { if (judged(path)) problems.push(`${where(path)}: ${message}`) }

  const apps: AppConfig[] = []
  const within = (path: DocumentPath, i: number): boolean => path[0] === 'apps' && path[1] === i
  resolved.apps.forEach((raw: unknown, i: number) => {
    if (schemaProblems.some(p => within(p.path, i))) return
    // A full load stops at an unset variable; a partial one builds the app with the value empty.
    if (deferred === undefined && unresolved.some(u => within(u.path, i))) return
    const app = buildApp(raw as RawApp, ['apps', i], report)
    if (app !== undefined) apps.push(app)
  })
  return apps
}

/** The shapes the schema guarantees (after substitution). */
interface RawDestination {
  type: DestinationConfig['kind']
  name?: string
  appId?: string
  region?: RecallRegion
  baseUrl?: string
  apiKey?: string
  url?: string
  headers?: Record<string, string>
  events?: EventFilter
  isLocalRecordingTokenSupported?: boolean
  isOnbehalfTokenSupported?: boolean
  timeoutMs?: number
  concurrency?: number
  retry?: { attempts?: number, baseDelayMs?: number, maxDelayMs?: number }
  rateLimit?: { perSecond: number }
  circuitBreaker?: { failures?: number, maxProbeIntervalMs?: number } | false
}
interface RawOAuth { clientId: string, redirectUri: string, successUrl?: string, authorizeUrl?: string, destination?: string }
interface RawDeauthorization { cleanup?: boolean, match?: 'user' | 'account', destination?: string }
interface RawApp {
  name: string
  secretTokens?: string[]
  secretToken?: string
  destinations: RawDestination[]
  oauth?: RawOAuth
  deauthorization?: RawDeauthorization
}

function buildApp (raw: RawApp, path: DocumentPath, report: Report): AppConfig | undefined {
  const destinations: DestinationConfig[] = []
  let ok = true
  raw.destinations.forEach((d, i) => {
    const destination = buildDestination(d, [...path, 'destinations', i], report)
    if (destination === undefined) { ok = false; return }
    if (destinations.some(other => other.name === destination.name)) {
      report([...path, 'destinations', i, 'name'], `"${destination.name}" is used twice in this app; give each destination its own name.`)
      ok = false
      return
    }
    destinations.push(destination)
  })
  if (!ok) return undefined
  const secretTokens = raw.secretTokens ?? (raw.secretToken === undefined ? [] : [raw.secretToken])
  const app: AppConfig = { name: raw.name, path: `/zoom/webhook/${raw.name}`, secretTokens, destinations }
  if (raw.oauth !== undefined) {
    const oauth = oauthRules(raw.oauth, destinations, [...path, 'oauth'], report)
    if (oauth === undefined) return undefined
    app.oauth = oauth
  }
  const deauthorization = deauthorizationRules(raw.deauthorization, destinations, [...path, 'deauthorization'], report)
  if (deauthorization !== undefined) app.deauthorization = deauthorization
  return app
}

function buildDestination (raw: RawDestination, path: DocumentPath, report: Report): DestinationConfig | undefined {
  const name = raw.name ?? raw.type
  const baseUrl = raw.baseUrl?.replace(/\/+$/, '')
  const appId = raw.appId ?? ''
  let destination: DestinationConfig
  switch (raw.type) {
    case 'recall': {
      const base = baseUrl ?? recallRegionBaseUrl(raw.region ?? 'us-east-1')
      destination = { name, kind: 'recall', url: recallWebhookUrl(base, appId), headers: {}, ...apiAccess(raw, base, appId) }
      break
    }
    case 'attendee': {
      const base = baseUrl ?? ''
      destination = {
        name,
        kind: 'attendee',
        url: attendeeWebhookUrl(base, appId),
        headers: {},
        ...apiAccess(raw, base, appId),
        // Attendee's own defaults; the schema refuses both false.
        attendeeConnection: { isLocalRecordingTokenSupported: raw.isLocalRecordingTokenSupported ?? true, isOnbehalfTokenSupported: raw.isOnbehalfTokenSupported ?? false }
      }
      break
    }
    case 'http':
      destination = { name, kind: 'http', url: raw.url ?? '', headers: {} }
  }
  let ok = true
  for (const [key, value] of Object.entries(raw.headers ?? {})) {
    const lower = key.toLowerCase()
    if (!HEADER_NAME.test(key) || RESERVED_HEADERS.has(lower) || lower.startsWith('x-zm-')) {
      report([...path, 'headers', key], 'is not a header name the relay can set (Zoom\'s and HTTP\'s own headers are reserved).')
      ok = false
    } else {
      destination.headers[lower] = value
    }
  }
  if (raw.events !== undefined) destination.events = raw.events
  for (const key of ['timeoutMs', 'concurrency', 'retry', 'rateLimit', 'circuitBreaker'] as const) {
    if (raw[key] !== undefined) Object.assign(destination, { [key]: raw[key] })
  }
  return ok ? destination : undefined
}

function apiAccess (raw: RawDestination, baseUrl: string, appId: string): Pick<DestinationConfig, 'api'> {
  return raw.apiKey === undefined ? {} : { api: { baseUrl, apiKey: raw.apiKey, appId } }
}

/** Headers the relay owns: a static header may not replace Zoom's or HTTP's own. */
const RESERVED_HEADERS = new Set([...FORWARDED_HEADERS, 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i

/** The destination that can call its provider's API: the named one, or the only one with an `apiKey`. */
function apiDestination (
  destinations: readonly DestinationConfig[],
  named: string | undefined,
  kinds: ReadonlyArray<DestinationConfig['kind']>,
  path: DocumentPath,
  report: Report
): DestinationConfig | undefined {
  const candidates = destinations.filter(d => d.api !== undefined && kinds.includes(d.kind))
  if (named !== undefined) {
    const found = candidates.find(d => d.name === named)
    if (found === undefined) report(path, `"${named}" is not a ${kinds.join(' or ')} destination of this app with an apiKey.`)
    return found
  }
  if (candidates.length === 1) return candidates[0]
  report(path, candidates.length === 0
    ? `needs a ${kinds.join(' or ')} destination with an apiKey (e.g. apiKey: "\${RECALL_API_KEY}").`
    : `is ambiguous: name the destination to use (${candidates.map(d => d.name).join(', ')}).`)
  return undefined
}

/**
 * An `oauth` section from outside the file (the env-configured app): the
 * schema's `oauth` part, then the same rules as for the file's apps.
 */
export function readOAuth (raw: Record<string, string | undefined>, destinations: readonly DestinationConfig[], path: DocumentPath, report: Report): OAuthConfig | undefined {
  const section = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined))
  const problems = validateOAuthSection(section)
  for (const p of problems) report([...path, ...p.path], p.message)
  if (problems.length === 0) return oauthRules(section as unknown as RawOAuth, destinations, path, report)
  // Every problem at once: also say when there is no destination to register codes.
  apiDestination(destinations, undefined, ['recall', 'attendee'], [...path, 'destination'], report)
  return undefined
}

/** Which destination registers codes, and a callback path the relay can serve. */
function oauthRules (raw: RawOAuth, destinations: readonly DestinationConfig[], path: DocumentPath, report: Report): OAuthConfig | undefined {
  const registrar = apiDestination(destinations, raw.destination, ['recall', 'attendee'], [...path, 'destination'], report)
  // Not a URL only when it needed an unset variable (a partial load): no OAuth then.
  const pathname = checkHttpUrl(raw.redirectUri) === undefined ? undefined : new URL(raw.redirectUri).pathname
  if (pathname === undefined) return undefined
  if (!isServablePath(pathname)) {
    report([...path, 'redirectUri'], `path "${pathname}" collides with the relay's own routes; use e.g. /zoom/oauth/callback.`)
    return undefined
  }
  if (registrar === undefined) return undefined
  const oauth: OAuthConfig = {
    clientId: raw.clientId,
    redirectUri: raw.redirectUri,
    authorizeUrl: raw.authorizeUrl ?? DEFAULT_ZOOM_AUTHORIZE_URL,
    registrar: registrar.name
  }
  if (raw.successUrl !== undefined) oauth.successUrl = raw.successUrl
  return oauth
}

/**
 * The clean-up on `app_deauthorized`: on by default for every recall and
 * attendee destination that can call its provider (has an `apiKey`), silent
 * when none can; a named destination must have a key, and is then the only one.
 */
export function deauthorizationRules (raw: RawDeauthorization | undefined, destinations: readonly DestinationConfig[], path: DocumentPath, report: Report): DeauthorizationConfig | undefined {
  if (raw?.cleanup === false) return undefined
  const match = raw?.match ?? 'user'
  if (raw?.destination === undefined) {
    const keyed = destinations.filter(d => (d.kind === 'recall' || d.kind === 'attendee') && d.api !== undefined)
    return keyed.length === 0 ? undefined : { destinations: keyed.map(d => d.name), match }
  }
  const destination = apiDestination(destinations, raw.destination, ['recall', 'attendee'], [...path, 'destination'], report)
  return destination === undefined ? undefined : { destinations: [destination.name], match }
}

/** Paths the relay serves itself; an OAuth callback may not take one of them. */
function isServablePath (pathname: string): boolean {
  return !['/healthz', '/readyz', '/zoom/oauth/install'].includes(pathname) && !pathname.startsWith('/zoom/webhook')
}

/** The app and destination names a document path lies under (for deferred problems). */
function scopeOf (document: unknown, path: DocumentPath): { app?: string, destination?: string } {
  if (!isRecord(document) || path[0] !== 'apps' || !Array.isArray(document.apps)) return {}
  const app: unknown = document.apps[path[1] as number]
  if (!isRecord(app) || typeof app.name !== 'string') return {}
  if (path[2] !== 'destinations' || !Array.isArray(app.destinations)) return { app: app.name }
  const destination: unknown = app.destinations[path[3] as number]
  if (!isRecord(destination)) return { app: app.name }
  const name = destination.name ?? destination.type
  return typeof name === 'string' ? { app: app.name, destination: name } : { app: app.name }
}

function substituteEnv (
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: DocumentPath,
  missing: (path: DocumentPath, name: string) => void
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
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], missing))
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], missing)]))
  }
  return value
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
