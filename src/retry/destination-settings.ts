import type { Config, DestinationConfig, RetryConfig } from '../config/config.js'
import { retryHorizonMs } from './retry-policy.js'

/** A destination's delivery settings: its own from CONFIG_FILE, the env values otherwise. */
export interface DestinationSettings {
  timeoutMs: number
  concurrency: number
  retry: RetryConfig
  /** Time from the first attempt to the last, without jitter: an event waiting longer expires. */
  horizonMs: number
  /** Deliveries per second across all workers; undefined: unlimited. */
  perSecond: number | undefined
  /** undefined: no circuit breaker. */
  circuitBreaker: { failures: number, maxProbeIntervalMs: number } | undefined
}

const cache = new WeakMap<DestinationConfig, DestinationSettings>()

/** The settings of `destination`, resolved once per destination object. */
export function destinationSettings (config: Config, destination: DestinationConfig): DestinationSettings {
  let settings = cache.get(destination)
  if (settings !== undefined) return settings
  const retry: RetryConfig = { ...config.retry, ...destination.retry }
  const breaker = destination.circuitBreaker === false ? undefined : { ...config.circuitBreaker, ...destination.circuitBreaker }
  settings = {
    timeoutMs: destination.timeoutMs ?? config.deliveryTimeoutMs,
    concurrency: destination.concurrency ?? config.deliveryConcurrency,
    retry,
    horizonMs: retryHorizonMs(retry),
    perSecond: destination.rateLimit?.perSecond,
    circuitBreaker: breaker === undefined || breaker.failures <= 0 ? undefined : breaker
  }
  cache.set(destination, settings)
  return settings
}

/** The longest attempt any destination may take: locks and stalled-entry claims must outlive it. */
export function longestTimeoutMs (config: Config): number {
  return Math.max(config.deliveryTimeoutMs, ...config.apps.flatMap(a => a.destinations.map(d => d.timeoutMs ?? 0)))
}
