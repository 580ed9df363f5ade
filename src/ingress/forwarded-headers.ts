import type { IncomingHttpHeaders } from 'node:http'

/**
 * The only request headers stored with an event and sent to destinations.
 * Recall verifies `x-zm-request-timestamp` + `x-zm-signature` over the body;
 * the rest identify and trace the event. Everything else — `authorization`
 * and `clientid` (credentials of the Zoom→relay hop), cookies, hop-by-hop
 * headers, `host`, `content-length` — stays behind by construction.
 */
export const FORWARDED_HEADERS = [
  'x-zm-request-timestamp',
  'x-zm-signature',
  'content-type',
  'user-agent',
  'x-zm-trackingid',
  'traceparent'
] as const

export function pickForwardedHeaders (headers: IncomingHttpHeaders): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const name of FORWARDED_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string') picked[name] = value
  }
  return picked
}
