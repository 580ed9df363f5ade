import { createHmac, timingSafeEqual } from 'node:crypto'
import { WebhookAuthError } from '../errors.js'

/**
 * `v0=` followed by a lowercase hex HMAC-SHA256: 3 + 64 characters. Zoom
 * sends lowercase (a hex digest); requiring it means the signature the worker
 * recomputes is byte for byte the one Zoom sent.
 */
const SIGNATURE_PATTERN = /^v0=[0-9a-f]{64}$/
const TIMESTAMP_PATTERN = /^\d{1,12}$/

/**
 * Zoom's v0 signature: hex HMAC-SHA256 keyed with the Secret Token over
 * `v0:<timestamp>:<raw body bytes>`. The body is hashed as bytes, never as a
 * re-serialised string, so emoji and invalid UTF-8 keep their exact meaning.
 */
export function signatureDigest (secretToken: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', secretToken).update(`v0:${timestamp}:`).update(body).digest()
}

/** The header value Zoom would send: `v0=<hex>`. */
export function zoomSignature (secretToken: string, timestamp: string, body: Buffer): string {
  return `v0=${signatureDigest(secretToken, timestamp, body).toString('hex')}`
}

export interface VerifyOptions {
  /** Current token first; any one may match (two during a rotation). */
  secretTokens: readonly string[]
  /** Accepted distance between the timestamp and now; omit to skip the window check (re-verifying stored jobs). */
  toleranceSeconds?: number
  /** Unix seconds; injectable for tests. */
  nowSeconds?: number
}

/**
 * What can be checked before the body arrives: both headers present and well
 * formed, the timestamp inside the window. Throws `WebhookAuthError`. The
 * ingress runs it on the headers alone, so a request that cannot be from Zoom
 * never gets its body read (see webhook-routes.ts).
 */
export function checkZoomHeaders (signature: string | undefined, timestamp: string | undefined, opts: Omit<VerifyOptions, 'secretTokens'>): { signature: string, timestamp: string } {
  if (timestamp === undefined || timestamp === '') throw new WebhookAuthError('timestamp_missing')
  if (signature === undefined || signature === '') throw new WebhookAuthError('signature_missing')
  if (!TIMESTAMP_PATTERN.test(timestamp)) throw new WebhookAuthError('timestamp_malformed')
  if (!SIGNATURE_PATTERN.test(signature)) throw new WebhookAuthError('signature_malformed')
  if (opts.toleranceSeconds !== undefined) {
    const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000)
    if (Math.abs(now - Number(timestamp)) > opts.toleranceSeconds) throw new WebhookAuthError('timestamp_out_of_window')
  }
  return { signature, timestamp }
}

/**
 * Checks both Zoom headers against the raw body. Throws `WebhookAuthError`
 * with the precise reason; returns the index of the token that matched.
 * Every token is tried with `timingSafeEqual`, so timing tells nothing about
 * which bytes (or which token) matched.
 */
export function verifyZoomSignature (
  signature: string | undefined,
  timestamp: string | undefined,
  body: Buffer,
  opts: VerifyOptions
): number {
  const checked = checkZoomHeaders(signature, timestamp, opts)
  const given = Buffer.from(checked.signature.slice(3), 'hex')
  let matched = -1
  opts.secretTokens.forEach((token, i) => {
    // No early exit: the work done is the same whichever token matches.
    if (timingSafeEqual(given, signatureDigest(token, checked.timestamp, body)) && matched === -1) matched = i
  })
  if (matched === -1) throw new WebhookAuthError('signature_mismatch')
  return matched
}
