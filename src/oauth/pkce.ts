import { createHash, randomBytes } from 'node:crypto'

/** 32 random bytes as base64url: 43 characters, 256 bits (RFC 7636 §4.1, also fine as `state`). */
export function randomToken (): string {
  return randomBytes(32).toString('base64url')
}

/** The S256 `code_challenge` of a verifier (RFC 7636 §4.2). */
export function codeChallenge (verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}
