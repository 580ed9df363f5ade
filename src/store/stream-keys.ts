import type { AppConfig, DestinationConfig } from '../config/config.js'

/**
 * Redis keys of the event log. Every key of one app carries the app's name as
 * a Redis Cluster hash tag (`{sales}`), so the ingest script that writes an
 * app's events to all of its destination streams touches one slot.
 */

/** The one consumer group on every stream: a stream belongs to one destination. */
export const CONSUMER_GROUP = 'relay'

/** Events waiting for one destination, oldest first: `<prefix>:{<app>}:events:<destination>`. */
export function eventStreamKey (prefix: string, app: Pick<AppConfig, 'name'>, destination: Pick<DestinationConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:events:${destination.name}`
}

/** `app_deauthorized` events waiting to become clean-up jobs: `<prefix>:{<app>}:deauthorizations`. */
export function cleanupStreamKey (prefix: string, app: Pick<AppConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:deauthorizations`
}

/** The set of body hashes seen in one bucket of the de-duplication window: `<prefix>:{<app>}:dedup:<bucket>`. */
export function dedupKey (prefix: string, app: Pick<AppConfig, 'name'>, bucket: string): string {
  return `${prefix}:{${app.name}}:dedup:${bucket}`
}

/** Hash of `<app>/<destination>` → epoch ms of the last successful delivery. */
export function lastDeliveryKey (prefix: string): string {
  return `${prefix}:last-delivery`
}

/** Epoch ms at which Redis appended a stream entry (the first half of its id, `<ms>-<seq>`). */
export function entryTime (id: string): number {
  return Number(id.slice(0, id.indexOf('-')))
}

/**
 * A destination's operating state, shared by every process: a hash of
 * `paused`, `pausedAt`, `resumedAt` (operator) and `circuit`, `failures`,
 * `openedAt`, `probeIntervalMs`, `nextProbeAt` (circuit breaker):
 * `<prefix>:{<app>}:destination:<destination>`.
 */
export function destinationStateKey (prefix: string, app: Pick<AppConfig, 'name'>, destination: Pick<DestinationConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:destination:${destination.name}`
}

/** Held (SET NX PX) by the one worker process that sends an open circuit's probe: `<prefix>:{<app>}:probe:<destination>`. */
export function probeLockKey (prefix: string, app: Pick<AppConfig, 'name'>, destination: Pick<DestinationConfig, 'name'>): string {
  return `${prefix}:{${app.name}}:probe:${destination.name}`
}

/** Deliveries counted in the current second, for a destination's rate limit: `<prefix>:{<app>}:rate:<destination>:<epoch second>`. */
export function rateWindowKey (prefix: string, app: Pick<AppConfig, 'name'>, destination: Pick<DestinationConfig, 'name'>, second: number): string {
  return `${prefix}:{${app.name}}:rate:${destination.name}:${second}`
}

/** Where the web role records the last answered URL validation per app (a hash: app → epoch ms). */
export function validationKey (prefix: string): string {
  return `${prefix}:url-validations`
}
