import type { RateLimitPluginOptions } from '@fastify/rate-limit'
import { TooManyRequestsError } from '../errors.js'

/**
 * `@fastify/rate-limit` options for a per-client-address budget. The client
 * address is Fastify's `request.ip`: the socket's peer, or the
 * `X-Forwarded-For` hop a trusted proxy vouches for (`TRUSTED_PROXIES`).
 * Counters live in this process's memory (an LRU of `cache` addresses), so a
 * flood costs Redis nothing; with several web processes each keeps its own.
 */
export function perClientRateLimit (max: number, timeWindowMs = 60_000): RateLimitPluginOptions {
  return {
    global: true,
    max,
    timeWindow: timeWindowMs,
    cache: 10_000,
    errorResponseBuilder: (_request, context) => new TooManyRequestsError(`Too many requests from this address; try again in ${context.after}.`)
  }
}
