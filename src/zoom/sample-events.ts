import { randomBytes, randomInt } from 'node:crypto'
import { URL_VALIDATION_EVENT } from './challenge.js'

/**
 * Sample Zoom webhook bodies for `zoom-relay send-test-event` and the compose
 * demo: the shape, field order and key names of Zoom's own payloads (event,
 * payload, event_ts), with non-ASCII text where Zoom users put it (topics,
 * names), so a relay that re-serialises JSON would be caught by the signature.
 * Every call makes a new body (fresh ids and times): the relay's
 * de-duplication would otherwise store a second test event zero times.
 */

/** The events a sample exists for. */
export const SAMPLE_EVENTS = ['meeting.created', 'meeting.started', 'meeting.ended', 'meeting.participant_joined', 'user.updated'] as const
export type SampleEvent = typeof SAMPLE_EVENTS[number]

export function isSampleEvent (name: string): name is SampleEvent {
  return (SAMPLE_EVENTS as readonly string[]).includes(name)
}

/** Zoom's 22-character base64 ids (account, user) and meeting UUIDs (base64 with `==`). */
const zoomId = (): string => randomBytes(16).toString('base64url').slice(0, 22)
const meetingUuid = (): string => `${randomBytes(16).toString('base64').slice(0, 22)}==`
/** Zoom meeting numbers have 10 or 11 digits. */
const meetingNumber = (): number => randomInt(80_000_000_000, 99_999_999_999)
/** Zoom writes times as UTC without milliseconds. */
const zoomTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** A new body for `event`, as Zoom would send it at `now` (epoch ms). */
export function sampleEventBody (event: SampleEvent, now = Date.now()): string {
  const accountId = zoomId()
  const hostId = zoomId()
  const meeting = {
    uuid: meetingUuid(),
    id: meetingNumber(),
    host_id: hostId,
    topic: 'Weekly sync — réunion 🎉 会议',
    type: 2,
    start_time: zoomTime(now + 3_600_000),
    duration: 45,
    timezone: 'Europe/Paris'
  }
  const operator = { operator: 'zoe.muller@example.com', operator_id: hostId }
  let payload: Record<string, unknown>
  switch (event) {
    case 'meeting.created':
      payload = { account_id: accountId, ...operator, operation: 'single', object: { ...meeting, join_url: `https://zoom.us/j/${meeting.id}`, password: 'x7Yq2', pre_schedule: false } }
      break
    case 'meeting.started':
      payload = { account_id: accountId, object: { ...meeting, start_time: zoomTime(now) } }
      break
    case 'meeting.ended':
      payload = { account_id: accountId, object: { ...meeting, start_time: zoomTime(now - 2_700_000), end_time: zoomTime(now) } }
      break
    case 'meeting.participant_joined':
      payload = {
        account_id: accountId,
        object: {
          ...meeting,
          start_time: zoomTime(now - 60_000),
          participant: { user_id: String(randomInt(16_000_000, 16_999_999)), user_name: 'José Åström', id: zoomId(), participant_uuid: zoomId(), join_time: zoomTime(now), email: 'jose.astrom@example.com', participant_user_id: zoomId() }
        }
      }
      break
    case 'user.updated':
      payload = {
        account_id: accountId,
        ...operator,
        object: { id: hostId, first_name: 'Zoë', last_name: 'Müller', pmi: meetingNumber() },
        old_object: { id: hostId, first_name: 'Zoe', last_name: 'Muller', pmi: meetingNumber() },
        time_stamp: now
      }
      break
  }
  return JSON.stringify({ event, payload, event_ts: now })
}

/** A URL validation body with a new `plainToken` (Zoom's are 22 base64url characters). */
export function urlValidationBody (now = Date.now()): { body: string, plainToken: string } {
  const plainToken = randomBytes(16).toString('base64url').slice(0, 22)
  return { body: JSON.stringify({ payload: { plainToken }, event_ts: now, event: URL_VALIDATION_EVENT }), plainToken }
}
