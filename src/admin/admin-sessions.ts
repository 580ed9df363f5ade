import { createHash } from 'node:crypto'
import type { RedisClient } from '../redis/redis-connection.js'
import { RelayError } from '../errors.js'
import { randomToken } from '../oauth/pkce.js'

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/**
 * Sign-ins of the admin UI: a random id per sign-in, kept in Redis with an
 * expiry, so any web process recognises it and `POST /logout` ends it at once.
 * Redis holds only the SHA-256 of each id: a dump of it signs nobody in.
 */
export class AdminSessions {
  private readonly redis: RedisClient
  private readonly prefix: string
  /** How long a sign-in lasts. */
  readonly ttlSeconds: number

  /** `ttlSeconds` @defaultValue 43_200 (12 h) */
  constructor (redis: RedisClient, opts: { prefix: string, ttlSeconds?: number }) {
    this.redis = redis
    this.prefix = `${opts.prefix}:admin-session:`
    this.ttlSeconds = opts.ttlSeconds ?? 43_200
  }

  /** A new session id (43 base64url characters, 256 random bits). */
  async create (): Promise<string> {
    const id = randomToken()
    await unavailableAs503(this.redis.set(this.key(id), '1', 'EX', this.ttlSeconds))
    return id
  }

  /** Whether the id is a live session. Throws a 503 `RelayError` when Redis does not answer. */
  async isLive (id: string): Promise<boolean> {
    if (!SESSION_ID.test(id)) return false
    return await unavailableAs503(this.redis.exists(this.key(id))) === 1
  }

  async revoke (id: string): Promise<void> {
    if (SESSION_ID.test(id)) await unavailableAs503(this.redis.del(this.key(id)))
  }

  private key (id: string): string {
    return this.prefix + createHash('sha256').update(id).digest('base64url')
  }
}

async function unavailableAs503<T> (call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    throw new RelayError('ZR_ADMIN_STORAGE_UNAVAILABLE', `Admin sessions are kept in Redis, which did not answer (${(err as Error).message}); use the bearer token, or try again.`, 503)
  }
}
