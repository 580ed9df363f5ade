import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'
import { ProviderApiError } from '../errors.js'
import { isRetryableStatus, parseRetryAfter, retryDelay } from '../retry/retry-policy.js'

/** An API answer the caller decides about (2xx, 400 with a conflict, 404 on delete…). */
export interface ApiResponse {
  status: number
  /** Parsed JSON, or the text when the answer is not JSON. */
  body: unknown
}

export interface ProviderApiClientOptions {
  /** API origin, e.g. `https://us-east-1.recall.ai`. */
  baseUrl: string
  apiKey: string
  /** Whole-call timeout. */
  timeoutMs: number
  /** Retries after 429, 5xx, timeouts and network errors; 0 when a queue retries instead. */
  retries: number
  /** Upper bound on an honoured `Retry-After`. @defaultValue 30_000 */
  retryAfterMaxMs?: number
  /** First retry delay, doubled each time. @defaultValue 500 */
  retryBaseDelayMs?: number
  /** How a pause between attempts is taken; injectable so tests can check the delays without waiting. @defaultValue timers/promises `setTimeout` */
  sleep?: (ms: number) => Promise<unknown>
}

const MAX_RESPONSE_BYTES = 4 * 1_048_576

/**
 * JSON over HTTP to Recall or Attendee with `Authorization: Token <key>`
 * (both document that form). Retries what may pass (429 honouring
 * `Retry-After`, 5xx, timeouts, connection errors) a bounded number of times
 * and answers everything else to the caller. Errors never contain the key.
 */
export class ProviderApiClient {
  readonly baseUrl: string
  private readonly opts: Required<ProviderApiClientOptions>
  private readonly dispatcher: Dispatcher

  constructor (opts: ProviderApiClientOptions) {
    this.opts = { retryAfterMaxMs: 30_000, retryBaseDelayMs: 500, sleep, ...opts }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '')
    this.dispatcher = new Agent({ maxResponseSize: MAX_RESPONSE_BYTES, keepAliveTimeout: 10_000 })
  }

  /** `pathOrUrl` is a path under the base URL, or an absolute URL on the same origin (pagination links). */
  async request (method: 'GET' | 'POST' | 'DELETE', pathOrUrl: string, opts: { query?: Record<string, string | undefined>, json?: unknown } = {}): Promise<ApiResponse> {
    const url = this.url(pathOrUrl, opts.query)
    const what = `${method} ${url.pathname}`
    const retry = { attempts: this.opts.retries + 1, baseDelayMs: this.opts.retryBaseDelayMs, maxDelayMs: 30_000, retryAfterMaxMs: this.opts.retryAfterMaxMs }
    for (let attempt = 1; ; attempt++) {
      let failure: ProviderApiError
      try {
        const answer = await this.send(method, url, opts.json)
        if (!isRetryableStatus(answer.status)) return answer
        failure = new ProviderApiError(`${what} answered ${answer.status}${describeBody(answer.body)}`, {
          status: answer.status,
          retryable: true,
          retryAfterMs: parseRetryAfter(answer.retryAfter, this.opts.retryAfterMaxMs),
          body: answer.body
        })
      } catch (err) {
        failure = new ProviderApiError(`${what} failed: ${describeNetworkError(err)}`, { retryable: true, cause: err })
      }
      if (attempt >= retry.attempts) throw failure
      // A Retry-After lengthens the wait, never shortens it (a 0 would burn the shared rate limit at once).
      await this.opts.sleep(retryDelay(attempt, retry, failure.retryAfterMs))
    }
  }

  async close (): Promise<void> {
    await this.dispatcher.close()
  }

  private url (pathOrUrl: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(pathOrUrl, `${this.baseUrl}/`)
    // A pagination link must not send the key to another host.
    if (url.origin !== new URL(this.baseUrl).origin) throw new ProviderApiError(`refusing to follow ${url.origin}: not the API origin ${this.baseUrl}`, { retryable: false })
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value)
    return url
  }

  private async send (method: string, url: URL, json: unknown): Promise<ApiResponse & { retryAfter?: string }> {
    const key = this.opts.apiKey
    const response = await request(url, {
      method,
      dispatcher: this.dispatcher,
      headers: {
        accept: 'application/json',
        authorization: /^token /i.test(key) ? key : `Token ${key}`,
        ...(json === undefined ? {} : { 'content-type': 'application/json' })
      },
      body: json === undefined ? undefined : JSON.stringify(json),
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
      signal: AbortSignal.timeout(this.opts.timeoutMs)
    })
    const text = await response.body.text()
    let body: unknown = text
    if (text !== '') {
      try { body = JSON.parse(text) } catch {}
    }
    const retryAfter = response.headers['retry-after']
    return { status: response.statusCode, body, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined }
  }
}

/** `: <detail>` from an API error body, short enough for a log line. */
export function describeBody (body: unknown): string {
  if (body === '' || body === undefined || body === null) return ''
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return `: ${text.slice(0, 300)}`
}

function describeNetworkError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out'
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? `${code} ${err.message}` : err.message
}
