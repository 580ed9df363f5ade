import { createHmac } from 'node:crypto'

/**
 * A realistic ~1 KB `meeting.created` (the shape Zoom sends, with the usual
 * settings block), unique per `n` so de-duplication never short-cuts a
 * measurement. `padTo` grows it (64 KB bodies for the memory figures).
 */
export function meetingCreatedBody (n: number, padTo = 0): string {
  const body = {
    event: 'meeting.created',
    event_ts: 1_732_000_000_000 + n,
    payload: {
      account_id: 'D8cJuqWVQ623CI4Q8yQK0Q',
      operator: 'host.person@example.com',
      operator_id: 'z8yCxjabcdEFGHfp8uQ',
      operation: 'single',
      object: {
        uuid: `4444AAAiAAAAAiAiAiiAii${n}==`,
        id: 85_000_000_000 + n,
        host_id: 'z8yCxjabcdEFGHfp8uQ',
        topic: `Weekly sync — team ${n % 97} 🗓️`,
        type: 2,
        start_time: '2026-11-24T09:00:00Z',
        duration: 60,
        timezone: 'Europe/Berlin',
        join_url: `https://example.zoom.us/j/${85_000_000_000 + n}?pwd=Q2hhbmdlTWVJbkFDb21wbGV0ZWx5UmFuZG9tV2F5`,
        password: 'x1y2z3',
        settings: {
          use_pmi: false,
          alternative_hosts: '',
          join_before_host: false,
          mute_upon_entry: true,
          waiting_room: true,
          auto_recording: 'cloud',
          meeting_authentication: false,
          encryption_type: 'enhanced_encryption',
          approval_type: 2,
          continuous_meeting_chat: { enable: true, auto_add_invited_external_users: false }
        },
        pre_schedule: false,
        ...(padTo > 0 ? { agenda: '' } : {})
      }
    }
  }
  const text = JSON.stringify(body)
  return padTo > text.length ? text.replace('"agenda":""', `"agenda":"${'a'.repeat(padTo - text.length)}"`) : text
}

/** Zoom's headers for `body`, signed now. */
export function signedHeaders (secret: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000))
  return {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Zoom Marketplace/1.0a',
    'x-zm-request-timestamp': ts,
    'x-zm-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`
  }
}
