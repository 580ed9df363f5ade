import { pino, type Logger, type LoggerOptions } from 'pino'

/**
 * Paths pino blanks out wherever they appear. The relay never logs headers or
 * secrets on purpose; this is the net under that rule (see test/logger.test.ts).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-zm-signature"]',
  'req.headers.cookie',
  'req.headers.clientid',
  'headers.authorization',
  'headers["x-zm-signature"]',
  '*.secretToken',
  '*.secretTokens',
  '*.apiKey',
  '*.token',
  'admin.token'
]

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
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest }
  }
}

export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination)
}
