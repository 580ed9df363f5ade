import { execFileSync } from 'node:child_process'

/**
 * Hex HMAC-SHA256 computed by the openssl binary: an implementation that
 * shares no code with src/, so a vector checks the code rather than itself.
 */
export function opensslHmacHex (key: string, message: Buffer | string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key, '-r'], { input: message }).toString('latin1')
  const hex = /^([0-9a-f]{64}) /.exec(out)?.[1]
  if (hex === undefined) throw new Error(`unexpected openssl output: ${JSON.stringify(out)}`)
  return hex
}

/** Zoom's `x-zm-signature` for these bytes, by openssl: `v0=` + HMAC(secret, "v0:<ts>:<body>"). */
export function opensslZoomSignature (secret: string, timestamp: string, body: Buffer): string {
  return `v0=${opensslHmacHex(secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`, 'latin1'), body]))}`
}
