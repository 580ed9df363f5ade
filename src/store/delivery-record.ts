/**
 * What the event history keeps about an event and its deliveries, as stored
 * in Redis (history-keys.ts). Short keys: every field is stored per event.
 */

/**
 * Where an event stands for one destination.
 * - `pending`: stored, no attempt yet (or a replay waiting for its attempt);
 * - `retrying`: an attempt failed, another is scheduled;
 * - `delivered`: a 2xx (for a replay: the replay's 2xx);
 * - `dead`: a dead letter (rejected, out of attempts, expired, corrupt, abandoned);
 * - `filtered`: the destination's `events` filter excludes it; never sent;
 * - `paused`: never stored: shown instead of `pending`/`retrying` while the destination is paused.
 */
export type DeliveryStateName = 'pending' | 'retrying' | 'delivered' | 'dead' | 'filtered' | 'paused'

/** One destination's delivery of one event (record field `d:<destination>`). */
export interface DeliveryRecord {
  /** State; `paused` is never stored. */
  s: Exclude<DeliveryStateName, 'paused'>
  /** Attempts made (replays included). */
  n: number
  /** Last attempt's HTTP status; null when it got no answer. Absent before the first attempt. */
  c?: number | null
  /** Last failure's message. Absent when the last attempt succeeded or none was made. */
  e?: string
  /** Epoch ms of the first attempt. */
  f?: number
  /** Epoch ms of the last attempt. */
  l?: number
  /** Epoch ms of the (last) successful delivery. */
  t?: number
  /** Replays requested. */
  r?: number
  /** Dead-letter reason, when `s` is `dead` (relay-job.ts DeadLetterReason). */
  x?: string
}

/**
 * One attempt in a destination's attempt log (record field `a:<destination>`).
 * A delivery made at the first attempt keeps no log: its record's `f`, `c`
 * and `t` are that attempt (`singleAttempt`); the log is written, that
 * attempt first, when a second one (a replay) comes.
 */
export interface AttemptRecord {
  /** Epoch ms when the attempt started. */
  at: number
  /** HTTP status; null when there was no answer (timeout, refused connection). */
  c: number | null
  /** Milliseconds the attempt took. */
  ms: number
  /** Failure message, when it failed. */
  e?: string
  /** Set on attempts of a replay. */
  r?: 1
}

/** The one attempt of a delivery that kept no log (see AttemptRecord); undefined when `record` is not such a delivery. */
export function singleAttempt (record: DeliveryRecord): AttemptRecord | undefined {
  if (record.n !== 1 || record.f === undefined || record.t === undefined) return undefined
  return { at: record.f, c: record.c ?? null, ms: record.t - record.f }
}

/** The attempt log keeps this many attempts per destination: the first and the latest ones. */
export const MAX_LOGGED_ATTEMPTS = 50

/** An event's index entry (the history stream's INDEX_FIELD): what searches filter on. */
export interface EventIndex {
  /** Zoom event name, e.g. `meeting.created`. */
  e: string
  /** `payload.object.id` (meeting id) as a string, when the body has one. */
  mid?: string
  /** `payload.object.uuid`, when the body has one. */
  uuid?: string
  /** `payload.account_id`, when the body has one. */
  acct?: string
  /** Destinations it was stored for. */
  d: string[]
  /** Destinations whose filter excluded it. */
  x?: string[]
}

/** Public event id as the CLI, the admin API and the logs show it: `<app>/<ms>-<seq>`. */
export function publicEventId (app: string, id: string): string {
  return `${app}/${id}`
}

const PUBLIC_ID = /^([a-z0-9][a-z0-9_-]{0,62})\/(\d{1,16}-\d{1,16})$/

/** Reads a public event id; undefined when it is not one. */
export function parsePublicEventId (value: string): { app: string, id: string } | undefined {
  const match = PUBLIC_ID.exec(value)
  return match === null ? undefined : { app: match[1] as string, id: match[2] as string }
}

/** What one attempt (or a dead letter without one) changes in a destination's DeliveryRecord; history-scripts.ts applies it. */
export interface DeliveryOutcome {
  /** The event id. */
  id: string
  update: {
    s: Extract<DeliveryRecord['s'], 'retrying' | 'delivered' | 'dead'>
    /** Dead-letter reason (relay-job.ts DeadLetterReason). */
    x?: string
    /** Why, for an outcome without an attempt (expired, abandoned, corrupt). */
    e?: string
  }
  /** The attempt, appended to the attempt log; absent when nothing was sent. */
  attempt?: AttemptRecord
}
