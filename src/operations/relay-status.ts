import { validationKey } from '../store/stream-keys.js'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Config } from '../config/config.js'
import type { RelayQueues } from '../retry/relay-queues.js'
import { lastDeliveryField, readLastDeliveries } from '../relay/last-delivery.js'
import { readDestinationStates, type DestinationState } from '../relay/destination-state.js'

/** Zoom re-validates every endpoint every 72 hours; an endpoint that fails stops getting events. */
export const REVALIDATION_PERIOD_MS = 72 * 3600 * 1000

export interface DestinationStatus {
  app: string
  destination: string
  /** closed (delivering), open (circuit open), half_open (probing) or paused. */
  state: DestinationState
  waiting: number
  active: number
  delayed: number
  deadLettered: number
  /** Age of the oldest event not yet delivered (first attempt or a due retry), ms; null when none waits. */
  oldestWaitingMs: number | null
  /** When the last delivery succeeded (ISO); null when none is on record. */
  lastDelivery: string | null
}

export interface AppStatus {
  app: string
  /** Last URL validation any web process answered (ISO); null when none is on record. */
  lastUrlValidation: string | null
  /** Time left until Zoom's 72 h re-validation is overdue, ms (negative: overdue); null without a validation. */
  revalidationDueInMs: number | null
}

/** The `status` command's figures, read from Redis. */
export async function relayStatus (config: Config, queues: RelayQueues, redis: RedisClient, now = Date.now()): Promise<{ apps: AppStatus[], destinations: DestinationStatus[] }> {
  const validations = await redis.hgetall(validationKey(config.redisPrefix))
  const apps = config.apps.map(app => {
    const at = Number(validations[app.name] ?? Number.NaN)
    return Number.isNaN(at)
      ? { app: app.name, lastUrlValidation: null, revalidationDueInMs: null }
      : { app: app.name, lastUrlValidation: new Date(at).toISOString(), revalidationDueInMs: at + REVALIDATION_PERIOD_MS - now }
  })
  const [depths, lastDeliveries, states] = await Promise.all([queues.destinationDepths(now), readLastDeliveries(redis, config.redisPrefix), readDestinationStates(redis, config)])
  const destinations = depths.map(({ app, destination, counts, oldestWaitingMs }) => {
    const last = lastDeliveries[lastDeliveryField(app, destination)]
    return {
      app,
      destination,
      state: states.find(s => s.app === app && s.destination === destination)?.state ?? 'closed',
      waiting: counts.waiting,
      active: counts.active,
      delayed: counts.delayed,
      deadLettered: counts.failed,
      oldestWaitingMs,
      lastDelivery: last === undefined ? null : new Date(last).toISOString()
    }
  })
  return { apps, destinations }
}
