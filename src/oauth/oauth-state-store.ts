import type { RedisClient } from '../queue/redis-connection.js'
import { firstConnect } from '../queue/redis-connection.js'
import { randomToken } from './pkce.js'

const READY_WAIT_MS = 2000

/** What an install started: checked and consumed by the callback. */
export interface OAuthStateRecord {
  app: string
  /** PKCE verifier, when the code's registrar can send it on (Recall). */
  codeVerifier?: string
  /** The caller's opaque `ref` from the install URL, handed back after the callback. */
  ref?: string
  createdAt: number
}

/**
 * Single-use OAuth `state` values in Redis with a TTL, so any web pod can
 * answer the callback of an install another pod started. `GETDEL` makes use
 * and removal one step: a replayed callback finds nothing.
 */
export class OAuthStateStore {
  private readonly redis: RedisClient
  private readonly prefix: string
  private readonly ttlSeconds: number

  constructor (redis: RedisClient, opts: { prefix: string, ttlSeconds: number }) {
    this.redis = redis
    this.prefix = `${opts.prefix}:oauth-state:`
    this.ttlSeconds = opts.ttlSeconds
  }

  async create (record: Omit<OAuthStateRecord, 'createdAt'>): Promise<string> {
    const state = randomToken()
    await firstConnect(this.redis, READY_WAIT_MS)
    await this.redis.set(this.prefix + state, JSON.stringify({ ...record, createdAt: Date.now() }), 'EX', this.ttlSeconds)
    return state
  }

  /** The record, once; undefined when unknown, expired or already used. */
  async consume (state: string): Promise<OAuthStateRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(state)) return undefined
    await firstConnect(this.redis, READY_WAIT_MS)
    const stored = await this.redis.getdel(this.prefix + state)
    return stored === null ? undefined : JSON.parse(stored) as OAuthStateRecord
  }
}
