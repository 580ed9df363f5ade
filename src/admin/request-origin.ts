import type { FastifyRequest } from 'fastify'

/**
 * Whether a browser request was made by a page of the admin server itself.
 * `Sec-Fetch-Site` decides when the browser sends it (every current browser
 * does); otherwise `Origin` must be this server's own origin. A request with
 * neither is not taken for same-origin: cookies alone never authorise a change.
 */
export function isSameOrigin (request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  if (typeof site === 'string') return site === 'same-origin'
  const origin = request.headers.origin
  // protocol and host follow X-Forwarded-Proto/-Host only from TRUSTED_PROXIES.
  return typeof origin === 'string' && origin === `${request.protocol}://${request.host}`
}

/** Whether the request reached the relay over HTTPS (directly, or as a trusted proxy says). */
export function cameOverHttps (request: FastifyRequest): boolean {
  return request.protocol === 'https'
}
