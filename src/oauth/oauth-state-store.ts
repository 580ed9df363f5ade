import { once } from 'node:events'
import type { Redis } from 'ioredis'
import { randomToken } from './pkce.js'

const READY_WAIT_MS = 2000

/** What an install started: checked and consumed by the callback. */
export interface OAuthStateRecord {
  app: string
  /** PKCE verifier, when the code's registrar can send it on (Recall). */
  codeVerifier?: string
  createdAt: number
}

/**
 * Single-use OAuth `state` values in Redis with a TTL, so any web pod can
 * answer the callback of an install another pod started. `GETDEL` makes use
 * and removal one step: a replayed callback finds nothing.
 */
export class OAuthStateStore {
  private readonly redis: Redis
  private readonly prefix: string
  private readonly ttlSeconds: number

  constructor (redis: Redis, opts: { prefix: string, ttlSeconds: number }) {
    this.redis = redis
    this.prefix = `${opts.prefix}:oauth-state:`
    this.ttlSeconds = opts.ttlSeconds
  }

  async create (record: Omit<OAuthStateRecord, 'createdAt'>): Promise<string> {
    const state = randomToken()
    await this.ready()
    await this.redis.set(this.prefix + state, JSON.stringify({ ...record, createdAt: Date.now() }), 'EX', this.ttlSeconds)
    return state
  }

  /** The connection fails fast while down (no offline queue); just after start-up, wait briefly for it. */
  private async ready (): Promise<void> {
    if (this.redis.status === 'connecting' || this.redis.status === 'connect') await once(this.redis, 'ready', { signal: AbortSignal.timeout(READY_WAIT_MS) })
  }

  /** The record, once; undefined when unknown, expired or already used. */
  async consume (state: string): Promise<OAuthStateRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(state)) return undefined
    await this.ready()
    const stored = await this.redis.getdel(this.prefix + state)
    return stored === null ? undefined : JSON.parse(stored) as OAuthStateRecord
  }
}
