import { hash, timingSafeEqual } from 'node:crypto'
import { IntegrityError } from '../errors.js'
import { zoomSignature } from '../zoom/signature.js'

/**
 * Redis never holds Zoom's signature, only its SHA-256: a dead letter, a queue
 * UI or a Redis dump reveals nothing that could be replayed. The worker
 * recomputes the signature from the Secret Token, the stored timestamp and the
 * stored bytes — Zoom's lowercase hex HMAC, so identical to what Zoom sent — and
 * sends it only when its hash matches: any change to the bytes since ingress
 * is caught, as re-verifying the stored signature would.
 */
export function sealSignature (signature: string): string {
  return hash('sha256', signature, 'base64url')
}

/** The `x-zm-signature` to forward; throws `IntegrityError` when no configured token reproduces the sealed one. */
export function restoreSignature (sealed: string, timestamp: string | undefined, body: Buffer, secretTokens: readonly string[]): string {
  const expected = Buffer.from(sealed, 'base64url')
  // timingSafeEqual throws on a length mismatch: a seal of the wrong length is corruption like any other.
  if (expected.length !== 32) throw new IntegrityError('the stored signature seal is malformed')
  let restored: string | undefined
  for (const token of secretTokens) {
    const candidate = zoomSignature(token, timestamp ?? '', body)
    if (timingSafeEqual(hash('sha256', candidate, 'buffer'), expected) && restored === undefined) restored = candidate
  }
  if (restored === undefined) {
    throw new IntegrityError('the stored bytes no longer match the signature Zoom sent (or the Secret Token that signed it is no longer configured)')
  }
  return restored
}
