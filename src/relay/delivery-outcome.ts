import type { DeadLetterReason } from '../retry/relay-job.js'
import type { AttemptRecord, DeliveryOutcome } from '../store/delivery-record.js'
import type { AttemptResult } from './delivery-attempt.js'

/** The record update the relay's attempt results make (the type lives with the record's format). */
export type { DeliveryOutcome }

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
