import type { RetryConfig } from '../config/config.js'
import { parseHttpDate } from './http-date.js'

/** Answers worth trying again: timeouts, too early, rate limited, and every 5xx. */
export function isRetryableStatus (status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500
}

/**
 * Delay before the next attempt after `attemptsMade` failures: exponential
 * from `baseDelayMs`, capped at `maxDelayMs`, with ±20 % jitter so a backlog
 * does not return to a recovering destination in one wave.
 */
export function backoffDelay (attemptsMade: number, retry: RetryConfig, random: () => number = Math.random): number {
  const exponential = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.round(Math.min(retry.maxDelayMs, exponential * (0.8 + 0.4 * random())))
}

/**
 * Delay before the next attempt: the schedule's, or the destination's
 * `Retry-After` (already bounded by `RETRY_AFTER_MAX_MS`) when that is longer.
 * A `Retry-After: 0` or a past date never shortens the wait: a recovering
 * destination (or its CDN) answering that would otherwise get every attempt
 * back to back.
 */
export function retryDelay (attemptsMade: number, retry: RetryConfig, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const scheduled = backoffDelay(attemptsMade, retry, random)
  return retryAfterMs === undefined ? scheduled : Math.max(scheduled, retryAfterMs)
}

/** Time from the first attempt to the last one, without jitter: the promise made to users. */
export function retryHorizonMs (retry: RetryConfig): number {
  let total = 0
  for (let made = 1; made < retry.attempts; made++) total += Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (made - 1))
  return total
}

/**
 * `Retry-After` as a delay in ms (RFC 9110: delay-seconds or an HTTP-date),
 * bounded to [0, maxMs]; undefined when absent or unparseable.
 */
export function parseRetryAfter (value: string | undefined, maxMs: number, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  let delay: number
  if (/^\d+$/.test(trimmed)) {
    delay = Number(trimmed) * 1000
  } else {
    const date = parseHttpDate(trimmed, nowMs)
    if (date === undefined) return undefined
    delay = date - nowMs
  }
  return Math.min(maxMs, Math.max(0, delay))
}
