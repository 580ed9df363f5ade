import { EventEmitter } from 'node:events'
import { Pool } from 'undici'
import { DeliveryError } from '../errors.js'
import { isRetryableStatus, parseRetryAfter } from '../retry/retry-policy.js'

/** Longest error body kept in a dead letter's reason; enough for Recall's JSON errors. */
const ERROR_SNIPPET = 300
/** A destination cannot make a worker buffer more than this. */
const MAX_RESPONSE_BYTES = 1_048_576

export interface DeliveryResult {
  status: number
}

/**
 * POSTs stored events to destinations with undici: one connection pool per
 * origin, keep-alive, a whole-attempt timeout, and the response body always
 * consumed so the connection goes back to the pool.
 */
export class DestinationClient {
  private readonly pools = new Map<string, Pool>()
  private readonly targets = new Map<string, Target>()
  private readonly timeoutMs: number
  private readonly retryAfterMaxMs: number

  constructor (opts: { timeoutMs: number, retryAfterMaxMs: number }) {
    this.timeoutMs = opts.timeoutMs
    this.retryAfterMaxMs = opts.retryAfterMaxMs
  }

  /** Resolves on 2xx (`timeoutMs`: this destination's, default the client's); otherwise throws `DeliveryError` saying whether a retry may help. */
  async post (url: string, body: Buffer, headers: Record<string, string>, timeoutMs = this.timeoutMs): Promise<DeliveryResult> {
    const target = this.target(url)
    const deadline = new AttemptDeadline(timeoutMs)
    try {
      let response
      try {
        response = await target.pool.request({
          method: 'POST',
          path: target.path,
          headers,
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: deadline
        })
      } catch (err) {
        throw new DeliveryError(`${target.origin} did not answer: ${describeNetworkError(err)}`, { retryable: true, cause: err })
      }
      const status = response.statusCode
      let text: string
      try {
        text = status >= 200 && status < 300 ? (await response.body.dump(), '') : await response.body.text()
      } catch (err) {
        throw new DeliveryError(`${target.origin} answered ${status} but the response broke off: ${describeNetworkError(err)}`, { status, retryable: true, cause: err })
      }
      if (status >= 200 && status < 300) return { status }
      const retryable = isRetryableStatus(status)
      const retryAfter = response.headers['retry-after']
      throw new DeliveryError(`${target.origin} answered ${status}${text === '' ? '' : `: ${text.slice(0, ERROR_SNIPPET)}`}`, {
        status,
        retryable,
        retryAfterMs: retryable ? parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined, this.retryAfterMaxMs) : undefined
      })
    } finally {
      deadline.clear()
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.pools.values()].map(async pool => await pool.close()))
    this.pools.clear()
    this.targets.clear()
  }

  /** The pool and request path for `url`, parsed once per destination URL. */
  private target (url: string): Target {
    let target = this.targets.get(url)
    if (target === undefined) {
      const parsed = new URL(url)
      let pool = this.pools.get(parsed.origin)
      if (pool === undefined) {
        pool = new Pool(parsed.origin, { maxResponseSize: MAX_RESPONSE_BYTES, keepAliveTimeout: 30_000 })
        this.pools.set(parsed.origin, pool)
      }
      target = { pool, origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` }
      this.targets.set(url, target)
    }
    return target
  }
}

interface Target {
  pool: Pool
  origin: string
  path: string
}

/**
 * The whole-attempt deadline, handed to undici as its `signal` (undici takes
 * an EventEmitter as well as an AbortSignal). `AbortSignal.timeout` costs an
 * EventTarget, listeners and a timer per request: about 8 % of a busy
 * worker's CPU, measured (docs/performance.md). `headersTimeout` and
 * `bodyTimeout` alone would not bound an attempt: a destination that drips a
 * byte at a time never trips `bodyTimeout`.
 */
class AttemptDeadline extends EventEmitter {
  reason: Error | undefined
  private readonly timer: NodeJS.Timeout

  constructor (ms: number) {
    super()
    this.timer = setTimeout(() => {
      this.reason = new Error(`timed out after ${ms} ms`)
      this.reason.name = 'TimeoutError'
      this.emit('abort')
    }, ms)
  }

  clear (): void {
    clearTimeout(this.timer)
  }
}

function describeNetworkError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out'
  return typeof code === 'string' ? `${code} ${err.message}` : err.message
}
