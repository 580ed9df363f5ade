import { createHmac } from 'node:crypto'

/** Zoom's `endpoint.url_validation` event name. */
export const URL_VALIDATION_EVENT = 'endpoint.url_validation'

/** Answer body for a URL validation: hex HMAC-SHA256 of the plainToken keyed with the Secret Token. */
export function challengeResponse (secretToken: string, plainToken: string): { plainToken: string, encryptedToken: string } {
  return { plainToken, encryptedToken: createHmac('sha256', secretToken).update(plainToken).digest('hex') }
}
