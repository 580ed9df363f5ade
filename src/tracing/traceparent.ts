/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header),
 * read and written without OpenTelemetry, so that the stored-event code can
 * check it while tracing is off and no OpenTelemetry module is loaded.
 */

/** Length of a version-00 `traceparent`, the only form the relay stores. */
export const TRACEPARENT_LENGTH = 55

/** `version-traceid-parentid-flags`, lower-case hex; version `ff` is invalid. */
const TRACEPARENT = /^(?!ff)[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/
const ZERO_TRACE_ID = '0'.repeat(32)
const ZERO_SPAN_ID = '0'.repeat(16)

/** The parts of a `traceparent` that identify a span. */
export interface TraceparentParts {
  traceId: string
  spanId: string
  /** Bit 0: sampled. */
  flags: number
}

/**
 * The parts of `value` when it is a well-formed `traceparent` of at most 55
 * characters (ids not all zero), else undefined. Longer values of future
 * versions are refused rather than cut: the relay stores only what it can read.
 */
export function parseTraceparent (value: string | undefined): TraceparentParts | undefined {
  if (value === undefined || value.length !== TRACEPARENT_LENGTH) return undefined
  const match = TRACEPARENT.exec(value)
  if (match === null) return undefined
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined
  return { traceId, spanId, flags: Number.parseInt(flags, 16) }
}

/** Whether `value` is a `traceparent` the relay stores and reads (see parseTraceparent). */
export function isTraceparent (value: unknown): value is string {
  return typeof value === 'string' && parseTraceparent(value) !== undefined
}

/** The version-00 `traceparent` of a span. */
export function formatTraceparent ({ traceId, spanId, flags }: TraceparentParts): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`
}
