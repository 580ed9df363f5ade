import type { DeadLetterReason } from '../queue/relay-job.js'
import type { AttemptResult } from '../relay/delivery-attempt.js'
import type { AttemptRecord, DeliveryRecord } from './delivery-record.js'

/** What one attempt (or a dead letter without one) changes in a destination's DeliveryRecord; history-scripts.ts applies it. */
export interface DeliveryOutcome {
  /** The event id. */
  id: string
  update: {
    s: Extract<DeliveryRecord['s'], 'retrying' | 'delivered' | 'dead'>
    /** Dead-letter reason. */
    x?: DeadLetterReason
    /** Why, for an outcome without an attempt (expired, abandoned, corrupt). */
    e?: string
  }
  /** The attempt, appended to the attempt log; absent when nothing was sent. */
  attempt?: AttemptRecord
}

/** The outcome of an attempt that started at `at` (epoch ms) and took `ms`; `replay`: an operator's replay. */
export function attemptOutcome (id: string, result: AttemptResult, at: number, ms: number, replay = false): DeliveryOutcome {
  if (result.outcome === 'dead-letter' && result.reason === 'integrity_error') return deadOutcome(id, result.reason, result.message)
  const attempt: AttemptRecord = { at, c: null, ms: Math.max(0, Math.round(ms)) }
  let update: DeliveryOutcome['update']
  switch (result.outcome) {
    case 'delivered':
      attempt.c = result.status
      update = { s: 'delivered' }
      break
    case 'retry':
      attempt.c = result.state.lastStatus
      attempt.e = result.state.lastError
      update = { s: 'retrying' }
      break
    case 'dead-letter':
      attempt.c = result.state.lastStatus
      attempt.e = result.state.lastError
      update = { s: 'dead', x: result.reason }
      break
  }
  if (replay) attempt.r = 1
  return { id, update, attempt }
}

/** A dead letter settled without an attempt (expired, abandoned, corrupt). */
export function deadOutcome (id: string, reason: DeadLetterReason, message: string): DeliveryOutcome {
  return { id, update: { s: 'dead', x: reason, e: message } }
}
