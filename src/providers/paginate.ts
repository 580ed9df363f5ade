import { ProviderApiError } from '../errors.js'
import { describeBody, type ProviderApiClient } from './provider-api-client.js'

/** More pages than this is a loop or a mistake, not a real list of credentials. */
const MAX_PAGES = 100

/**
 * Every item of a list endpoint. Recall and Attendee (both Django REST
 * framework) answer `{results, next}` pages, `next` being the absolute URL of
 * the following page (an offset or an opaque cursor) or null; a bare array is
 * accepted too. `maxPages` (default 100) stops a loop.
 */
export async function listAll<T> (client: ProviderApiClient, path: string, query: Record<string, string | undefined>, maxPages = MAX_PAGES): Promise<T[]> {
  const items: T[] = []
  let next: string | undefined = path
  let first = true
  for (let page = 0; next !== undefined; page++) {
    if (page === maxPages) throw new ProviderApiError(`GET ${path} returned more than ${maxPages} pages; narrow the filters.`, { retryable: false })
    const answer = await client.request('GET', next, first ? { query } : {})
    first = false
    if (answer.status !== 200) throw unexpected(`GET ${path}`, answer.status, answer.body)
    const body = answer.body
    if (Array.isArray(body)) return [...items, ...body as T[]]
    const pageBody = body as { results?: unknown, next?: unknown }
    if (typeof body !== 'object' || body === null || !Array.isArray(pageBody.results)) {
      throw new ProviderApiError(`GET ${path} answered 200 without a results list`, { status: 200, retryable: false, body })
    }
    items.push(...pageBody.results as T[])
    next = typeof pageBody.next === 'string' && pageBody.next !== '' ? pageBody.next : undefined
  }
  return items
}

/** The error for an answer the caller did not expect; 429/5xx stay retryable for a queue. */
export function unexpected (what: string, status: number, body: unknown): ProviderApiError {
  return new ProviderApiError(`${what} answered ${status}${describeBody(body)}`, { status, retryable: status === 429 || status >= 500, body })
}
