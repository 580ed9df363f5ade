import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { RECALL_REGIONS, type AppConfig, type DestinationConfig, type RecallRegion } from './config.js'
import { checkHttpUrl } from './env-reader.js'
import { attendeeWebhookUrl, recallRegionBaseUrl, recallWebhookUrl } from '../relay/destination-url.js'

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
  return { name, path: `/zoom/webhook/${name}`, secretTokens: tokens as string[], destinations }
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
      return { name, kind: 'recall', url: recallWebhookUrl(base, id) }
    }
    case 'attendee': {
      const id = appId()
      const base = baseUrl()
      if (raw.baseUrl === undefined) report(`${path}.baseUrl`, 'is required for attendee, e.g. https://app.attendee.dev or your self-hosted URL.')
      if (id === undefined || base === undefined) return undefined
      return { name, kind: 'attendee', url: attendeeWebhookUrl(base, id) }
    }
    case 'http': {
      const url = typeof raw.url === 'string' ? checkHttpUrl(raw.url) : undefined
      if (url === undefined) {
        report(`${path}.url`, 'must be an absolute http(s) URL.')
        return undefined
      }
      return { name, kind: 'http', url }
    }
    default:
      report(`${path}.type`, `"${raw.type}" is not one of recall, attendee, http.`)
      return undefined
  }
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
