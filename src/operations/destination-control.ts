import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { UnknownDestinationError } from '../errors.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { destinationStateKey } from '../store/stream-keys.js'
import { readDestinationStates, type DestinationStateRow } from '../relay/destination-state.js'

/** Which destinations an operator action applies to; unset: all. */
export interface DestinationSelector {
  app?: string
  destination?: string
}

/**
 * Pause, resume and list destinations: the operator's side of the shared
 * state every worker process obeys within a second (destination-gate.ts).
 * A paused destination's events keep being stored; nothing is sent, no
 * attempt is used, and time paused does not count towards expiry.
 */
export class DestinationControl {
  private readonly config: Config
  private readonly redis: RedisClient

  constructor (config: Config, redis: RedisClient) {
    this.config = config
    this.redis = redis
  }

  async list (selector: DestinationSelector = {}): Promise<DestinationStateRow[]> {
    const chosen = new Set(this.select(selector).map(({ app, destination }) => `${app.name}/${destination.name}`))
    return (await readDestinationStates(this.redis, this.config)).filter(row => chosen.has(`${row.app}/${row.destination}`))
  }

  /** Pauses the selected destinations; returns their states after. */
  async pause (selector: DestinationSelector, now = Date.now()): Promise<DestinationStateRow[]> {
    for (const { app, destination } of this.select(selector)) {
      const key = destinationStateKey(this.config.redisPrefix, app, destination)
      // A second pause keeps the first one's start: the time paused is what it is.
      if (await this.redis.hsetnx(key, 'paused', '1') === 1) await this.redis.hset(key, 'pausedAt', String(now))
    }
    return await this.list(selector)
  }

  /** Resumes the selected destinations: what waited is delivered, oldest first. */
  async resume (selector: DestinationSelector, now = Date.now()): Promise<DestinationStateRow[]> {
    for (const { app, destination } of this.select(selector)) {
      const key = destinationStateKey(this.config.redisPrefix, app, destination)
      if (await this.redis.hdel(key, 'paused') === 1) await this.redis.hset(key, 'resumedAt', String(now))
    }
    return await this.list(selector)
  }

  /** The configured destinations the selector names; an unknown name is an error, not an empty result. */
  private select ({ app, destination }: DestinationSelector): Array<{ app: AppConfig, destination: DestinationConfig }> {
    const apps = app === undefined ? this.config.apps : this.config.apps.filter(a => a.name === app)
    if (apps.length === 0) throw new UnknownDestinationError(`No app "${app ?? ''}" (configured: ${this.config.apps.map(a => a.name).join(', ')}).`)
    const chosen = apps.flatMap(a => a.destinations.filter(d => destination === undefined || d.name === destination).map(d => ({ app: a, destination: d })))
    if (chosen.length === 0) throw new UnknownDestinationError(`No destination "${destination ?? ''}"${app === undefined ? '' : ` in app "${app}"`} (configured: ${apps.flatMap(a => a.destinations.map(d => `${a.name}/${d.name}`)).join(', ')}).`)
    return chosen
  }
}
