import { createHmac } from 'node:crypto'

/**
 * Signs like Zoom, written from Zoom's documentation and independent of
 * src/zoom/signature.ts so that the tests check the code, not themselves.
 */
export function zoomHeaders (secret: string, body: Buffer | string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestamp)
  const mac = createHmac('sha256', secret)
  mac.update(`v0:${ts}:`)
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
  return {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Zoom Marketplace/1.0a',
    'x-zm-request-timestamp': ts,
    'x-zm-signature': `v0=${mac.digest('hex')}`
  }
}

export function meetingCreated (id: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    event: 'meeting.created',
    event_ts: 1_700_000_000_000 + id,
    payload: {
      account_id: 'AAAAAAAAAAAAAAAAAAAAAA',
      operator: 'host@example.com',
      object: { id, uuid: `uuid-${id}==`, host_id: 'hostHOSThost', topic: `Meeting ${id}`, type: 2, start_time: '2026-11-24T09:00:00Z', duration: 30, timezone: 'UTC' },
      ...extra
    }
  })
}

export function urlValidation (plainToken: string): string {
  return JSON.stringify({ payload: { plainToken }, event_ts: 1_700_000_000_000, event: 'endpoint.url_validation' })
}
