import type { Config } from '../config/config.js'

/**
 * Fastify's `trustProxy` from `TRUSTED_PROXIES`: `X-Forwarded-For`, `-Proto`
 * and `-Host` are believed only from those addresses (`request.ip`,
 * `request.protocol`, `request.host` follow them); with none configured,
 * false: the headers are ignored and `request.ip` is the socket's peer.
 */
export function trustedProxies (config: Pick<Config, 'trustedProxies'>): string[] | false {
  return config.trustedProxies.length > 0 ? config.trustedProxies : false
}
