/**
 * Every error the relay raises on purpose, each with a stable `code`.
 *
 * Codes are part of the public contract: HTTP error bodies carry them as
 * `error`, logs carry them as `err.code`, and scripts may match on them.
 * Never rename a code; add a new one instead.
 */

/** Base class: a stable machine-readable code plus the HTTP status, if any. */
export class RelayError extends Error {
  readonly code: string
  /** HTTP status to answer with when this error ends a request. */
  readonly statusCode: number

  constructor (code: string, message: string, statusCode = 500, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.statusCode = statusCode
  }
}

/** Start-up configuration is missing or wrong; the message names each variable and how to fix it. */
export class ConfigError extends RelayError {
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super('ZR_CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** Why a webhook failed authentication. Each value is also a metric label. */
export type AuthFailureReason =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_mismatch'
  | 'timestamp_missing'
  | 'timestamp_malformed'
  | 'timestamp_out_of_window'

const AUTH_MESSAGES: Record<AuthFailureReason, string> = {
  signature_missing: 'The x-zm-signature header is missing.',
  signature_malformed: 'The x-zm-signature header is not of the form v0=<64 lowercase hex digits>.',
  signature_mismatch: 'The x-zm-signature header does not match the body and timestamp.',
  timestamp_missing: 'The x-zm-request-timestamp header is missing.',
  timestamp_malformed: 'The x-zm-request-timestamp header is not a Unix time in seconds.',
  timestamp_out_of_window: 'The x-zm-request-timestamp header is outside the accepted time window.'
}

/** 401: the request is not provably from Zoom. */
export class WebhookAuthError extends RelayError {
  readonly reason: AuthFailureReason

  constructor (reason: AuthFailureReason) {
    super(`ZR_${reason.toUpperCase()}`, AUTH_MESSAGES[reason], 401)
    this.reason = reason
  }
}

/** 400: the body is empty or not a JSON object. */
export class MalformedBodyError extends RelayError {
  constructor (message: string) {
    super('ZR_BODY_MALFORMED', message, 400)
  }
}

/** 404: no app is configured under this webhook path. */
export class UnknownAppError extends RelayError {
  constructor (app: string) {
    super('ZR_APP_UNKNOWN', `No Zoom app named "${app}" is configured.`, 404)
  }
}

/** 503: Redis did not accept the event in time; Zoom must retry. */
export class EnqueueError extends RelayError {
  constructor (message: string, options?: ErrorOptions) {
    super('ZR_ENQUEUE_FAILED', message, 503, options)
  }
}

/**
 * A stored job's signature no longer matches its stored bytes. This can only
 * be a bug or tampering in Redis, so the job fails loudly instead of sending.
 */
export class IntegrityError extends RelayError {
  constructor (message: string) {
    super('ZR_STORED_EVENT_CORRUPT', message)
  }
}

/** A delivery attempt failed; `retryable` decides between backoff and the dead-letter set. */
export class DeliveryError extends RelayError {
  /** HTTP status from the destination, when one answered. */
  readonly status: number | undefined
  readonly retryable: boolean
  /** Delay the destination asked for (Retry-After), already bounded, in ms. */
  readonly retryAfterMs: number | undefined

  constructor (message: string, opts: { status?: number, retryable: boolean, retryAfterMs?: number, cause?: unknown }) {
    super(opts.retryable ? 'ZR_DELIVERY_RETRYABLE' : 'ZR_DELIVERY_REJECTED', message, 502, { cause: opts.cause })
    this.status = opts.status
    this.retryable = opts.retryable
    this.retryAfterMs = opts.retryAfterMs
  }
}

/** A Recall or Attendee API call failed; never carries the API key or an authorization code. */
export class ProviderApiError extends RelayError {
  /** HTTP status, when the API answered. */
  readonly status: number | undefined
  readonly retryable: boolean
  /** Delay the API asked for (Retry-After), bounded, in ms. */
  readonly retryAfterMs: number | undefined
  /** The API's parsed error body (Recall and Attendee answer JSON). */
  readonly body: unknown

  constructor (message: string, opts: { status?: number, retryable: boolean, retryAfterMs?: number, body?: unknown, cause?: unknown }) {
    super('ZR_PROVIDER_API_FAILED', message, 502, { cause: opts.cause })
    this.status = opts.status
    this.retryable = opts.retryable
    this.retryAfterMs = opts.retryAfterMs
    this.body = opts.body
  }
}

/** 400: an OAuth callback whose `state` is unknown, expired or already used, or that carries no code. */
export class OAuthStateError extends RelayError {
  constructor (message: string) {
    super('ZR_OAUTH_STATE_INVALID', message, 400)
  }
}

/** 429: one client address sent more requests than a rate-limited route allows. */
export class TooManyRequestsError extends RelayError {
  constructor (message: string) {
    super('ZR_RATE_LIMITED', message, 429)
  }
}

/** 400: a dead-letter purge or replay that names no filter; it must say `all` to mean every dead letter. */
export class UnfilteredDeadLettersError extends RelayError {
  constructor (action: 'purge' | 'replay') {
    super('ZR_DEAD_LETTERS_ALL_REQUIRED', `A ${action} without any filter would ${action} every dead letter: add a filter, or say so with "all": true (CLI: --all).`, 400)
  }
}

/** 404: an operator named an app or destination that is not configured. */
export class UnknownDestinationError extends RelayError {
  constructor (message: string) {
    super('ZR_UNKNOWN_DESTINATION', message, 404)
  }
}

/** 400: an event search or replay with a filter, cursor or id that cannot be read. */
export class EventQueryError extends RelayError {
  constructor (message: string) {
    super('ZR_EVENTS_BAD_QUERY', message, 400)
  }
}

/** 404: no event of this id in the history (never accepted, or past its retention). */
export class UnknownEventError extends RelayError {
  constructor (publicId: string) {
    super('ZR_EVENT_UNKNOWN', `No event "${publicId}" in the history: never accepted, or no longer kept (EVENT_RETENTION_*).`, 404)
  }
}

/**
 * A replay the history refuses: nothing was sent. `reason` says which rule:
 * - `body_gone` (410): the event's body is no longer kept (its metadata outlived it);
 * - `wrong_destination` (400): the destination is not one of the event's app;
 * - `filtered` (409): the destination's `events` filter excludes the event (`force` sends it anyway);
 * - `too_many` (400): a filter matches more events than one replay takes (REPLAY_MAX_EVENTS).
 */
export class ReplayRefusedError extends RelayError {
  readonly reason: 'body_gone' | 'wrong_destination' | 'filtered' | 'too_many'

  constructor (reason: ReplayRefusedError['reason'], message: string) {
    super(`ZR_REPLAY_${reason.toUpperCase()}`, message, { body_gone: 410, wrong_destination: 400, filtered: 409, too_many: 400 }[reason])
    this.reason = reason
  }
}
