import type { AppConfig } from '../config/config.js'
import { dedupKey } from './stream-keys.js'

/**
 * The de-duplication window as Redis sets of body hashes, one per window-long
 * bucket of time. An event is a duplicate when its hash is in the current or
 * the previous bucket, so it is remembered for at least the window and at
 * most twice as long. A bucket lives until the end of the next one.
 */
export interface DedupBuckets {
  current: string
  previous: string
  /** Epoch ms after which the current bucket is no longer needed. */
  expireAt: number
}

export function dedupBuckets (prefix: string, app: Pick<AppConfig, 'name'>, windowMs: number, nowMs = Date.now()): DedupBuckets {
  const bucket = Math.floor(nowMs / windowMs)
  return {
    current: dedupKey(prefix, app, String(bucket)),
    previous: dedupKey(prefix, app, String(bucket - 1)),
    expireAt: (bucket + 2) * windowMs
  }
}
