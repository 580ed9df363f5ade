import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AppConfig } from '../config/config.js'
import { ProviderApiError } from '../errors.js'
import { errorReply, statusOf } from '../ingress/error-reply.js'
import { perClientRateLimit } from '../ingress/rate-limit.js'
import type { RelayMetrics } from '../metrics/relay-metrics.js'
import type { ProviderApis } from '../providers/provider-apis.js'
import { registerCode, type Registration } from './code-registrar.js'
import { sendPage } from './oauth-page.js'
import { OAUTH_REF_PATTERN, type OAuthStateProblem, type OAuthStateSigner } from './oauth-state.js'
import { codeChallenge } from './pkce.js'
import type { UsedOAuthStates } from './used-states.js'

export interface OAuthRouteOptions {
  apps: readonly AppConfig[]
  /** Issues and checks the stateless `state` values. */
  signer: OAuthStateSigner
  /** Marks a state used at its callback (the only Redis write of the flow before the provider call). */
  used: UsedOAuthStates
  apis: ProviderApis
  metrics: RelayMetrics
  /** Requests per minute per client address, over every OAuth route together. */
  rateLimitPerMinute: number
}

const REFUSED_STATE: Record<OAuthStateProblem | 'used', [title: string, message: string]> = {
  malformed: ['This link is not valid', 'The connection request was not issued by this service. Start the connection again.'],
  forged: ['This link is not valid', 'The connection request was not issued by this service, or was altered. Start the connection again.'],
  expired: ['This link has expired', 'The connection request expired. Start the connection again.'],
  used: ['This link was already used', 'The connection request was already used. Start the connection again.']
}

interface CallbackQuery { code?: string, state?: string, error?: string, error_description?: string }

/**
 * The Zoom OAuth connect flow, for apps with an `oauth` section:
 * `GET /zoom/oauth/install?app=<name>[&ref=<id>]` sends the browser to Zoom
 * with a stateless, single-use `state` carrying the optional `ref` (and PKCE
 * where the registrar can pass the verifier on);
 * the redirect URI's path takes the code back and registers it with Recall or
 * Attendee. Codes, states and verifiers are never logged or shown.
 */
export async function oauthRoutes (app: FastifyInstance, opts: OAuthRouteOptions): Promise<void> {
  const { signer, used, apis, metrics } = opts
  // Only these routes, per client address, in memory: a flood of installs costs neither Redis nor the provider's rate limit.
  await app.register(rateLimit, perClientRateLimit(opts.rateLimitPerMinute))
  // A person in a browser gets a page, not JSON, when throttled.
  app.setErrorHandler<Error>(async (err, request, reply) => statusOf(err) === 429
    ? await sendPage(reply, 429, 'Too many attempts', 'Too many connection attempts came from your network. Wait a minute, then start the connection again.')
    : errorReply(err, request, reply))
  const oauthApps = opts.apps.filter(a => a.oauth !== undefined)
  const count = (appName: string, provider: string, outcome: string): void => { metrics.oauthConnections.inc({ app: appName, provider, outcome }) }

  app.get<{ Querystring: { app?: string, ref?: unknown } }>('/zoom/oauth/install', async (request, reply) => {
    const { ref } = request.query
    if (ref !== undefined && (typeof ref !== 'string' || !OAUTH_REF_PATTERN.test(ref))) {
      return await sendPage(reply, 400, 'Invalid ref', 'ref must be 1 to 128 characters of A-Z, a-z, 0-9, "_" and "-" (an opaque id of your user, given once).')
    }
    const name = request.query.app ?? (oauthApps.length === 1 ? oauthApps[0]?.name : undefined)
    const zoomApp = oauthApps.find(a => a.name === name)
    if (zoomApp?.oauth === undefined) {
      return await sendPage(reply, 404, 'Unknown app', name === undefined
        ? `Say which app to connect: /zoom/oauth/install?app=<name> (one of ${oauthApps.map(a => a.name).join(', ')}).`
        : `No Zoom app named "${name}" has the OAuth flow configured.`)
    }
    const { oauth } = zoomApp
    const registrar = zoomApp.destinations.find(d => d.name === oauth.registrar)
    // Nothing is stored: the state carries the app, the ref and its expiry under the relay's MAC.
    const issued = signer.issue({ app: zoomApp.name, ...(ref === undefined ? {} : { ref }) })
    // Recall takes the PKCE verifier with the code; Attendee's API has no field for it, so no PKCE there.
    const codeVerifier = registrar?.kind === 'recall' ? issued.codeVerifier : undefined
    const state = issued.state
    const target = new URL(oauth.authorizeUrl)
    target.searchParams.set('response_type', 'code')
    target.searchParams.set('client_id', oauth.clientId)
    // Byte for byte as configured: Zoom and Recall reject a redirect URI that differs by a slash.
    target.searchParams.set('redirect_uri', oauth.redirectUri)
    target.searchParams.set('state', state)
    if (codeVerifier !== undefined) {
      target.searchParams.set('code_challenge', codeChallenge(codeVerifier))
      target.searchParams.set('code_challenge_method', 'S256')
    }
    count(zoomApp.name, registrar?.kind ?? 'unknown', 'started')
    return await reply.code(302).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.href)
  })

  const callbackPaths = [...new Set(oauthApps.map(a => new URL(a.oauth?.redirectUri ?? '').pathname))]
  for (const path of callbackPaths) {
    app.get<{ Querystring: CallbackQuery }>(path, async (request, reply) => {
      const { code, state, error } = request.query
      const checked = typeof state === 'string' ? signer.check(state) : { ok: false as const, problem: 'malformed' as const }
      const record = checked.ok ? checked.state : undefined
      const zoomApp = record === undefined ? undefined : oauthApps.find(a => a.name === record.app && new URL(a.oauth?.redirectUri ?? '').pathname === path)
      const registrar = zoomApp?.destinations.find(d => d.name === zoomApp.oauth?.registrar)
      const provider = registrar?.kind ?? 'unknown'
      if (typeof error === 'string') {
        // The person declined (or Zoom refused): say so, whatever the state. Nothing to mark: no code comes with it.
        count(zoomApp?.name ?? 'unknown', provider, 'denied')
        return await sendPage(reply, 400, 'Zoom was not connected', `Zoom answered: ${error.slice(0, 100)}. Start the connection again to retry.`)
      }
      if (zoomApp?.oauth === undefined || record === undefined) {
        count('unknown', 'unknown', 'state_invalid')
        // A valid state for an app served at another callback path is as foreign here as a forged one.
        return await sendPage(reply, 400, ...REFUSED_STATE[checked.ok ? 'forged' : checked.problem])
      }
      if (typeof code !== 'string' || code === '') {
        count(zoomApp.name, provider, 'denied')
        return await sendPage(reply, 400, 'Zoom was not connected', 'Zoom sent no authorization code. Start the connection again.')
      }
      // Single use: the first callback with this state marks it, until the state would expire anyway.
      let first: boolean
      try {
        first = await used.markUsed(record.nonce, record.expiresAt)
      } catch (err) {
        request.log.error({ message: (err as Error).message }, 'could not mark the OAuth state used in Redis')
        return await sendPage(reply, 503, 'Try again in a moment', 'The relay\'s storage is unavailable. Start the connection again in a minute.')
      }
      if (!first) {
        count(zoomApp.name, provider, 'state_invalid')
        return await sendPage(reply, 400, ...REFUSED_STATE.used)
      }
      if (registrar === undefined) throw new Error(`registrar ${zoomApp.oauth.registrar} missing`)
      try {
        const done = await registerCode(
          apis, zoomApp, registrar,
          { code, redirectUri: zoomApp.oauth.redirectUri, ...(registrar.kind === 'recall' ? { codeVerifier: record.codeVerifier } : {}) },
          record.ref === undefined ? {} : { ref: record.ref })
        count(zoomApp.name, provider, done.replaced > 0 ? 'replaced' : 'connected')
        request.log.info({ app: zoomApp.name, provider, id: done.id, replaced: done.replaced, ref: record.ref }, 'Zoom account connected')
        return await connected(reply, zoomApp, done, record.ref)
      } catch (err) {
        if (!(err instanceof ProviderApiError)) throw err
        count(zoomApp.name, provider, 'failed')
        request.log.warn({ app: zoomApp.name, provider, status: err.status, message: err.message }, 'Zoom OAuth registration failed')
        return await sendPage(reply, 502, 'Zoom was not connected', `${provider === 'recall' ? 'Recall' : 'Attendee'} did not accept the connection${err.status === undefined ? ' (no answer)' : ` (HTTP ${err.status})`}. Try again; if it keeps failing, contact support.`)
      }
    })
  }
}

/**
 * The success URL with `ref` (when the install had one), `provider` and `id`
 * added to its own query parameters, so the caller's app learns which of its
 * users now has which Recall credential or Attendee connection.
 */
export function successRedirect (successUrl: string, done: Pick<Registration, 'provider' | 'id'>, ref: string | undefined): string {
  const url = new URL(successUrl)
  if (ref !== undefined) url.searchParams.set('ref', ref)
  url.searchParams.set('provider', done.provider)
  url.searchParams.set('id', done.id)
  return url.href
}

async function connected (reply: FastifyReply, zoomApp: AppConfig, done: Registration, ref: string | undefined): Promise<FastifyReply> {
  const successUrl = zoomApp.oauth?.successUrl
  if (successUrl !== undefined) return await reply.code(302).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(successRedirect(successUrl, done, ref))
  return await sendPage(reply, 200, 'Zoom connected', 'Your Zoom account is connected. You can close this window.')
}
