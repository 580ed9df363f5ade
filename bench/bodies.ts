import { createHmac } from 'node:crypto'

const AGENDA = 'Status of the quarter, blockers, hiring, next steps'

/** The body with string tokens where the figures of `n` go; see {@link meetingCreatedBody}. */
function shape (n: string, id: string, ts: string, team: string): unknown {
  return {
    event: 'meeting.created',
    event_ts: ts,
    payload: {
      account_id: 'D8cJuqWVQ623CI4Q8yQK0Q',
      operator: 'host.person@example.com',
      operator_id: 'z8yCxjabcdEFGHfp8uQ',
      operation: 'single',
      object: {
        uuid: `4444AAAiAAAAAiAiAiiAii${n}==`,
        id,
        host_id: 'z8yCxjabcdEFGHfp8uQ',
        topic: `Weekly sync — team ${team} 🗓️`,
        type: 2,
        start_time: '2026-11-24T09:00:00Z',
        duration: 60,
        timezone: 'Europe/Berlin',
        created_at: '2026-11-23T16:02:11Z',
        join_url: `https://example.zoom.us/j/${id}?pwd=Q2hhbmdlTWVJbkFDb21wbGV0ZWx5UmFuZG9tV2F5`,
        password: 'x1y2z3',
        agenda: AGENDA,
        settings: {
          host_video: true,
          participant_video: false,
          join_before_host: false,
          jbh_time: 0,
          mute_upon_entry: true,
          watermark: false,
          use_pmi: false,
          audio: 'both',
          alternative_hosts: '',
          waiting_room: true,
          auto_recording: 'cloud',
          meeting_authentication: false,
          encryption_type: 'enhanced_encryption',
          approval_type: 2,
          continuous_meeting_chat: { enable: true, auto_add_invited_external_users: false }
        },
        pre_schedule: false
      }
    }
  }
}

// Serialised once; a body is its pieces joined with the figures of `n` (event_ts and id are JSON numbers).
const PIECES = JSON.stringify(shape('@N@', '@ID@', '@TS@', '@TEAM@')).replace('"@TS@"', '@TS@').replace('"id":"@ID@"', '"id":@ID@').split(/(@N@|@ID@|@TS@|@TEAM@)/)

/**
 * A realistic `meeting.created` of 1,000–1,100 bytes (the shape Zoom sends,
 * with the usual settings block), unique per `n` so de-duplication never
 * short-cuts a measurement. `padTo` grows it to exactly that many bytes (64 KB
 * bodies for the memory figures) by lengthening the agenda.
 */
export function meetingCreatedBody (n: number, padTo = 0): string {
  const figures: Record<string, string> = { '@N@': String(n), '@ID@': String(85_000_000_000 + n), '@TS@': String(1_732_000_000_000 + n), '@TEAM@': String(n % 97) }
  let text = ''
  for (const piece of PIECES) text += figures[piece] ?? piece
  const bytes = Buffer.byteLength(text)
  return padTo > bytes ? text.replace(`"agenda":"${AGENDA}"`, `"agenda":"${AGENDA}${'a'.repeat(padTo - bytes)}"`) : text
}

/** Zoom's headers for `body`, signed at `nowSeconds` (default: now). */
export function signedHeaders (secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(nowSeconds)
  return {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Zoom Marketplace/1.0a',
    'x-zm-request-timestamp': ts,
    'x-zm-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`
  }
}
