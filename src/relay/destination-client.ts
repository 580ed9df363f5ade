import { Pool } from 'undici'
import { DeliveryError } from '../errors.js'
import { isRetryableStatus, parseRetryAfter } from './retry-policy.js'

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
  private readonly timeoutMs: number
  private readonly retryAfterMaxMs: number

  constructor (opts: { timeoutMs: number, retryAfterMaxMs: number }) {
    this.timeoutMs = opts.timeoutMs
    this.retryAfterMaxMs = opts.retryAfterMaxMs
  }

  /** Resolves on 2xx; otherwise throws `DeliveryError` saying whether a retry may help. */
  async post (url: string, body: Buffer, headers: Record<string, string>): Promise<DeliveryResult> {
    const target = new URL(url)
    let response
    try {
      response = await this.pool(target.origin).request({
        method: 'POST',
        path: `${target.pathname}${target.search}`,
        headers,
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs)
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
  }

  async close (): Promise<void> {
    await Promise.all([...this.pools.values()].map(async pool => await pool.close()))
    this.pools.clear()
  }

  private pool (origin: string): Pool {
    let pool = this.pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, { maxResponseSize: MAX_RESPONSE_BYTES, keepAliveTimeout: 30_000 })
      this.pools.set(origin, pool)
    }
    return pool
  }
}

function describeNetworkError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out'
  return typeof code === 'string' ? `${code} ${err.message}` : err.message
}
