import { MalformedBodyError } from '../errors.js'

/** The two fields the relay reads from a webhook; everything else passes through untouched. */
export interface EventEnvelope {
  event: string
  /** Only for `endpoint.url_validation`. */
  plainToken: string | undefined
  /** Only for `app_deauthorized`: who removed the app. */
  deauthorized?: { accountId: string | undefined, userId: string | undefined }
}

export const DEAUTHORIZED_EVENT = 'app_deauthorized'

const MAX_EVENT_NAME = 128

/**
 * Parses the body once, only to read `event`, `payload.plainToken` and, for
 * `app_deauthorized`, `payload.account_id` and `payload.user_id`.
 * The parsed object is dropped: what is relayed is always the original bytes.
 */
export function readEventEnvelope (body: Buffer): EventEnvelope {
  let parsed: unknown
  try {
    // RFC 8259 lets a parser ignore a byte order mark; JSON.parse does not.
    const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0
    parsed = JSON.parse(body.toString('utf8', start))
  } catch {
    throw new MalformedBodyError('The body is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedBodyError('The body must be a JSON object.')
  }
  const { event, payload } = parsed as { event?: unknown, payload?: unknown }
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_NAME) {
    throw new MalformedBodyError(`The body must have an "event" string of 1 to ${MAX_EVENT_NAME} characters.`)
  }
  const fields = typeof payload === 'object' && payload !== null
    ? payload as { plainToken?: unknown, account_id?: unknown, user_id?: unknown }
    : {}
  const envelope: EventEnvelope = { event, plainToken: stringOrUndefined(fields.plainToken) }
  if (event === DEAUTHORIZED_EVENT) envelope.deauthorized = { accountId: stringOrUndefined(fields.account_id), userId: stringOrUndefined(fields.user_id) }
  return envelope
}

function stringOrUndefined (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
