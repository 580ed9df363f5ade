import type { RedisClient } from '../redis/redis-connection.js'
import { firstConnect } from '../redis/redis-connection.js'

const READY_WAIT_MS = 2000

/**
 * The single-use rule of OAuth states. Issuing a state writes nothing; only a
 * callback that carries a valid state marks its nonce used (`SET NX`), for as
 * long as the state could still be accepted, so the key expires with it. Any
 * web process can answer a callback of an install another one started.
 */
export class UsedOAuthStates {
  private readonly redis: RedisClient
  private readonly prefix: string

  constructor (redis: RedisClient, opts: { prefix: string }) {
    this.redis = redis
    this.prefix = `${opts.prefix}:oauth-state-used:`
  }

  /** True the first time for a nonce, false when it was already used. Throws when Redis does not answer. */
  async markUsed (nonce: string, expiresAt: number, now = Date.now()): Promise<boolean> {
    await firstConnect(this.redis, READY_WAIT_MS)
    const answer = await this.redis.set(this.prefix + nonce, '1', 'PX', Math.max(1, expiresAt - now), 'NX')
    return answer === 'OK'
  }
}
