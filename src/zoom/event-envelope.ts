import { MalformedBodyError } from '../errors.js'
import type { EventIndex } from '../store/delivery-record.js'

/** What the event history's index holds from the body: each one absent when the body has none. */
export type EventFacts = Pick<EventIndex, 'mid' | 'uuid' | 'acct'>

/** The fields the relay reads from a webhook; everything else passes through untouched. */
export interface EventEnvelope {
  event: string
  /** Only for `endpoint.url_validation`. */
  plainToken: string | undefined
  /** Only for `app_deauthorized`: who removed the app. */
  deauthorized?: { accountId: string | undefined, userId: string | undefined }
  /** Meeting id and uuid, account id: what history searches filter on. */
  facts: EventFacts
}

export const DEAUTHORIZED_EVENT = 'app_deauthorized'

const MAX_EVENT_NAME = 128

/**
 * Parses the body once, only to read `event`, `payload.plainToken`,
 * `payload.account_id`, `payload.object.id` and `.uuid` (for the history's
 * index) and, for `app_deauthorized`, `payload.user_id`.
 * The parsed object is dropped: what is relayed is always the original bytes.
 *
 * The bytes are decoded as Latin-1 first, which is cheaper than UTF-8 and,
 * for an emoji in a meeting topic, spares JSON.parse a two-byte string. JSON's
 * structure is ASCII, so the body is valid JSON either way or neither; only a
 * field read here that holds a character above U+007F could differ, and then
 * the body is parsed again as UTF-8 (tested both ways in event-envelope.test.ts).
 */
export function readEventEnvelope (body: Buffer): EventEnvelope {
  // RFC 8259 lets a parser ignore a byte order mark; JSON.parse does not.
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0
  let fields = readFields(body.toString('latin1', start))
  if (!isAscii(fields.event) || !isAscii(fields.plainToken) || !isAscii(fields.accountId) || !isAscii(fields.userId) || !isAscii(fields.meetingId) || !isAscii(fields.meetingUuid)) {
    fields = readFields(body.toString('utf8', start))
  }
  const { event } = fields
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_NAME) {
    throw new MalformedBodyError(`The body must have an "event" string of 1 to ${MAX_EVENT_NAME} characters.`)
  }
  const envelope: EventEnvelope = { event, plainToken: stringOrUndefined(fields.plainToken), facts: factsOf(fields) }
  if (event === DEAUTHORIZED_EVENT) envelope.deauthorized = { accountId: stringOrUndefined(fields.accountId), userId: stringOrUndefined(fields.userId) }
  return envelope
}

interface RawFields {
  event: unknown
  plainToken: unknown
  accountId: unknown
  userId: unknown
  meetingId: unknown
  meetingUuid: unknown
}

function readFields (text: string): RawFields {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new MalformedBodyError('The body is not valid JSON.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedBodyError('The body must be a JSON object.')
  }
  const { event, payload } = parsed as { event?: unknown, payload?: unknown }
  const fields = typeof payload === 'object' && payload !== null
    ? payload as { plainToken?: unknown, account_id?: unknown, user_id?: unknown, object?: unknown }
    : {}
  const object = typeof fields.object === 'object' && fields.object !== null ? fields.object as { id?: unknown, uuid?: unknown } : {}
  return { event, plainToken: fields.plainToken, accountId: fields.account_id, userId: fields.user_id, meetingId: object.id, meetingUuid: object.uuid }
}

function factsOf (fields: RawFields): EventFacts {
  const facts: EventFacts = {}
  // Zoom sends meeting ids as numbers (webinar and user objects too); kept as the digits sent.
  const mid = typeof fields.meetingId === 'number' && Number.isFinite(fields.meetingId) ? String(fields.meetingId) : stringOrUndefined(fields.meetingId)
  const uuid = stringOrUndefined(fields.meetingUuid)
  const acct = stringOrUndefined(fields.accountId)
  if (mid !== undefined) facts.mid = mid
  if (uuid !== undefined) facts.uuid = uuid
  if (acct !== undefined) facts.acct = acct
  return facts
}

const NON_ASCII = /[^\x00-\x7f]/

/** True for anything that is not a string with a character above U+007F. */
function isAscii (value: unknown): boolean {
  return typeof value !== 'string' || !NON_ASCII.test(value)
}

function stringOrUndefined (value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
