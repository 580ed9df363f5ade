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

/** Stored with the event: the forwarded headers except the signature, which is sealed instead. */
export const STORED_HEADERS = FORWARDED_HEADERS.filter(name => name !== 'x-zm-signature')

/** A field value as RFC 9110 allows it: no CR, LF or other control characters but tab. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * The stored headers among `headers`, as strings. Used on the way in (from
 * Zoom's request) and again on the way out (from Redis, which is not trusted
 * with what goes to a destination: a tampered stream entry or an edited retry
 * job must not add `authorization`, `cookie`, `host` or a forged signature).
 */
export function pickStoredHeaders (headers: IncomingHttpHeaders | Readonly<Record<string, unknown>>): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const name of STORED_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string' && FIELD_VALUE.test(value)) picked[name] = value
  }
  return picked
}
