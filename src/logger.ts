import { pino, type Logger, type LoggerOptions } from 'pino'

/** Keys whose values are secrets, at the top of a log object or one level down (`{ app: { secretToken } }`). */
const SECRET_KEYS: readonly string[] = ['secretToken', 'secretTokens', 'apiKey', 'token']
/** Header names whose values are secrets, in `headers` or `req.headers` of a log object. */
const SECRET_HEADERS: readonly string[] = ['authorization', 'x-zm-signature', 'cookie', 'clientid']
const CENSOR = '[redacted]'

/**
 * Blanks out secrets in a log object, copying only what it changes: SECRET_KEYS
 * at the top and one level down, SECRET_HEADERS in `headers` and `req.headers`.
 * The relay never logs headers or secrets on purpose; this is the net under
 * that rule (test/logger.test.ts). pino's own redaction does the same with
 * paths, but its wildcard paths (`*.apiKey`) cost as much as writing the line
 * itself (docs/performance.md).
 */
export function censorSecrets (object: Record<string, unknown>): Record<string, unknown> {
  let out = object
  const replace = (key: string, value: unknown): void => {
    if (out === object) out = { ...object }
    out[key] = value
  }
  for (const key in object) {
    const value = object[key]
    if (SECRET_KEYS.includes(key)) {
      replace(key, CENSOR)
    } else if (key === 'headers') {
      const headers = censorKeys(value, SECRET_HEADERS)
      if (headers !== value) replace(key, headers)
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      let inner = censorKeys(value, SECRET_KEYS)
      // A plain object only: Fastify's request is logged through serializeRequest, which keeps no header.
      if (key === 'req' && Object.getPrototypeOf(value) === Object.prototype) {
        const headers = (inner as { headers?: unknown }).headers
        const censored = censorKeys(headers, SECRET_HEADERS)
        if (censored !== headers) inner = { ...(inner as Record<string, unknown>), headers: censored }
      }
      if (inner !== value) replace(key, inner)
    }
  }
  return out
}

/** `value` with `keys` blanked out (a copy), or `value` itself when it has none of them. */
function censorKeys (value: unknown, keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null || !keys.some(k => k in value)) return value
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const k of keys) if (k in copy) copy[k] = CENSOR
  return copy
}

/** A request as logged: query values (OAuth codes and states) are never written. */
export function serializeRequest (req: { method?: string, url?: string, host?: string, hostname?: string, ip?: string, socket?: { remoteAddress?: string } }): Record<string, unknown> {
  const url = req.url ?? ''
  const query = url.indexOf('?')
  return {
    method: req.method,
    url: query === -1 ? url : `${url.slice(0, query)}?${url.slice(query + 1).split('&').map(p => `${p.split('=')[0] ?? ''}=[redacted]`).join('&')}`,
    host: req.host ?? req.hostname,
    remoteAddress: req.ip ?? req.socket?.remoteAddress
  }
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    name: 'zoom-relay',
    formatters: { log: censorSecrets },
    serializers: { req: serializeRequest }
  }
}

export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination)
}
