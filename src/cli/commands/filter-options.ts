import { usageError } from '../cli-error.js'

/** The filters `dead-letters` and `events` share, as node:util parseArgs options. */
export const FILTER_OPTIONS = {
  app: { type: 'string' },
  destination: { type: 'string' },
  event: { type: 'string' },
  meeting: { type: 'string' },
  account: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} as const

/** The filter options' text for a command's usage. */
export const FILTER_USAGE = `  --app NAME  --destination NAME  --event meeting.created  --meeting <Zoom meeting id or uuid>
  --account <Zoom account id>
  --since, --until       received at/after, before: an ISO time (2026-11-24T09:00:00Z) or an age (30m, 6h, 2d)`

interface FilterValues { app?: string, destination?: string, event?: string, meeting?: string, account?: string, since?: string, until?: string, limit?: string }

/** The shared filters, parsed: times to epoch ms, the limit to a number. */
export function readFilters (values: FilterValues): { app?: string, destination?: string, event?: string, meeting?: string, account?: string, since?: number, until?: number, limit?: number } {
  return {
    app: values.app,
    destination: values.destination,
    event: values.event,
    meeting: values.meeting,
    account: values.account,
    since: values.since === undefined ? undefined : pointInTime('--since', values.since),
    until: values.until === undefined ? undefined : pointInTime('--until', values.until),
    limit: values.limit === undefined ? undefined : wholeNumber('--limit', values.limit)
  }
}

export function wholeNumber (flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw usageError(`${flag} must be a whole number, not "${raw}".`)
  return Number(raw)
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** An ISO time, or an age like `30m` / `6h` / `2d` before now. */
export function pointInTime (flag: string, raw: string, now = Date.now()): number {
  const age = /^(\d+)([smhd])$/.exec(raw)
  if (age !== null) return now - Number(age[1]) * (UNITS[age[2] as string] ?? 0)
  const at = Date.parse(raw)
  if (Number.isNaN(at)) throw usageError(`${flag} must be an ISO time (2026-11-24T09:00:00Z) or an age (30m, 6h, 2d), not "${raw}".`)
  return at
}
