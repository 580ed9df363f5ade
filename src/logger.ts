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
  '*.apiKey'
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    name: 'zoom-relay',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' }
  }
}

export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination)
}
