import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppConfig } from '../config/config.js'
import { ENV_APP_NAME } from '../config/load-config.js'
import { MalformedBodyError, RelayError, UnknownAppError, WebhookAuthError } from '../errors.js'
import { eventLabel, statusClass, type RelayMetrics } from '../metrics/relay-metrics.js'
import type { EventProducer } from '../store/event-producer.js'
import { challengeResponse, URL_VALIDATION_EVENT } from '../zoom/challenge.js'
import { readEventEnvelope } from '../zoom/event-envelope.js'
import { checkZoomHeaders, verifyZoomSignature } from '../zoom/signature.js'
import { errorReply, statusOf } from './error-reply.js'
import { pickStoredHeaders } from './forwarded-headers.js'
import { sealSignature } from '../store/stored-signature.js'
import type { StoredEvent } from '../store/stored-event.js'
import type { RelayTracing, WebhookTrace } from '../tracing/relay-tracing.js'

export interface WebhookRouteOptions {
  apps: readonly AppConfig[]
  producer: EventProducer
  metrics: RelayMetrics
  signatureToleranceSeconds: number
  bodyLimitBytes: number
  /** Records an answered URL validation where every process can read it (the `status` command). */
  onUrlValidation?: (app: string) => void
  /**
   * OpenTelemetry spans of each request, when tracing is on. Unset, the
   * routes add no hook and no request field: a request costs a few `undefined` checks.
   * @defaultValue unset (off)
   */
  tracing?: RelayTracing
}

/** The two answers to a stored event, serialised once (the hot path sends one per request). */
const JSON_TYPE = 'application/json; charset=utf-8'
const ACCEPTED = JSON.stringify({ status: 'accepted' })
const DUPLICATE = JSON.stringify({ status: 'duplicate' })

/** Per-request facts the error handler and the ack timer need. */
declare module 'fastify' {
  interface FastifyRequest {
    zoomApp?: AppConfig
    zoomEvent?: string
    /** Decorated only when tracing is on. */
    zoomTrace?: WebhookTrace
  }
}

/**
 * `POST /zoom/webhook` (the env-configured app) and `POST /zoom/webhook/<app>`.
 * An encapsulated plugin: the raw-body parser and error handling apply to
 * these routes only.
 */
export async function webhookRoutes (app: FastifyInstance, opts: WebhookRouteOptions): Promise<void> {
  const { producer, metrics } = opts
  const appsByName = new Map(opts.apps.map(a => [a.name, a]))
  const appsByPath = new Map(opts.apps.map(a => [a.path, a]))

  // Fastify's own parser, as bytes: the body is never decoded or re-serialised
  // before it is verified and stored (see README, "Why the raw body").
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: opts.bodyLimitBytes },
    (_request, body, done) => { done(null, body) })

  app.decorateRequest('zoomApp', undefined)
  app.decorateRequest('zoomEvent', undefined)
  const tracing = opts.tracing
  if (tracing !== undefined) {
    app.decorateRequest('zoomTrace', undefined)
    // Started before the body is read, so that refused bodies (413, 415) have their span too.
    app.addHook('onRequest', (request, _reply, done) => {
      request.zoomTrace = tracing.startWebhook(request.headers)
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      request.zoomTrace?.end({ app: request.zoomApp?.name, event: request.zoomEvent === undefined ? undefined : eventLabel(request.zoomEvent), route: request.routeOptions.url, status: reply.statusCode })
      done()
    })
    app.addHook('onRequestAbort', (request, done) => {
      const trace = request.zoomTrace
      if (trace !== undefined) {
        trace.settle('aborted')
        trace.end({ app: request.zoomApp?.name, event: undefined, route: request.routeOptions.url, status: 499 })
        request.zoomTrace = undefined
      }
      done()
    })
  }

  // Refused from the headers alone, before the body is read: a request that cannot be from
  // Zoom (no app at this path, Zoom's headers missing, malformed or stale) never makes the
  // relay buffer or wait for a body. Counted by the error handler below like any refusal.
  app.addHook('onRequest', async request => {
    const params = request.params as { app?: string }
    request.zoomApp = params.app === undefined ? appsByPath.get(request.routeOptions.url ?? '') : appsByName.get(params.app)
    if (request.zoomApp === undefined) throw new UnknownAppError(params.app?.slice(0, 64) ?? ENV_APP_NAME)
    checkZoomHeaders(headerValue(request.headers['x-zm-signature']), headerValue(request.headers['x-zm-request-timestamp']), { toleranceSeconds: opts.signatureToleranceSeconds })
  })

  app.addHook('onResponse', (request, reply, done) => {
    metrics.ackDuration.observe({ app: request.zoomApp?.name ?? 'unknown', status_class: statusClass(reply.statusCode) }, reply.elapsedTime / 1000)
    done()
  })

  app.setErrorHandler((err: Error, request, reply) => {
    const appName = request.zoomApp?.name ?? 'unknown'
    if (statusOf(err) === 503) {
      metrics.enqueueFailures.inc({ app: appName, reason: err instanceof RelayError ? err.code : 'error' })
      request.zoomTrace?.settle('not_stored', err instanceof RelayError ? err.code : 'error')
      request.log.warn({ app: appName, event: request.zoomEvent, err: { code: (err as { code?: string }).code, message: err.message } }, 'event not stored; answered 503 so Zoom retries')
    } else {
      const reason = rejectionReason(err)
      metrics.webhooksReceived.inc({ app: appName, event: eventLabel(request.zoomEvent), outcome: 'rejected', reason })
      request.zoomTrace?.settle('rejected', reason)
    }
    return errorReply(err, request, reply)
  })

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    // Set by the onRequest hook, which refuses the request otherwise.
    const zoomApp = request.zoomApp as AppConfig
    const body = request.body
    if (!Buffer.isBuffer(body) || body.length === 0) throw new MalformedBodyError('The body is empty; Zoom always sends a JSON object.')

    const headers = request.headers
    const trace = request.zoomTrace
    trace?.begin('verify')
    const tokenIndex = verifyZoomSignature(
      headerValue(headers['x-zm-signature']),
      headerValue(headers['x-zm-request-timestamp']),
      body,
      { secretTokens: zoomApp.secretTokens, toleranceSeconds: opts.signatureToleranceSeconds })
    trace?.done()

    const envelope = readEventEnvelope(body)
    request.zoomEvent = envelope.event

    if (envelope.event === URL_VALIDATION_EVENT) {
      if (envelope.plainToken === undefined || envelope.plainToken.length === 0) {
        throw new MalformedBodyError('An endpoint.url_validation event must carry payload.plainToken.')
      }
      metrics.webhooksReceived.inc({ app: zoomApp.name, event: URL_VALIDATION_EVENT, outcome: 'challenge', reason: '' })
      metrics.lastUrlValidation.set({ app: zoomApp.name }, Date.now() / 1000)
      trace?.settle('challenge')
      opts.onUrlValidation?.(zoomApp.name)
      // Answer with the token Zoom signed with: during a rotation that may be the previous one.
      return challengeResponse(zoomApp.secretTokens[tokenIndex] as string, envelope.plainToken)
    }

    const event: StoredEvent = {
      body,
      headers: pickStoredHeaders(headers),
      signatureSha256: sealSignature(headers['x-zm-signature'] as string),
      event: envelope.event
    }
    if (trace !== undefined) {
      // Stored with the event: the workers' delivery spans become children of this request's span.
      event.traceparent = trace.traceparent
      trace.begin('store')
    }
    const stored = await producer.enqueue(zoomApp.name, event, envelope.deauthorized !== undefined, envelope.facts)
    trace?.done()
    if (stored.duplicate) {
      metrics.webhooksReceived.inc({ app: zoomApp.name, event: eventLabel(envelope.event), outcome: 'duplicate', reason: '' })
      trace?.settle('duplicate')
      return await reply.type(JSON_TYPE).send(DUPLICATE)
    }
    for (const destination of stored.skipped) metrics.eventsFiltered.inc({ app: zoomApp.name, destination })
    metrics.webhooksReceived.inc({ app: zoomApp.name, event: eventLabel(envelope.event), outcome: 'accepted', reason: '' })
    trace?.settle('accepted')
    return await reply.type(JSON_TYPE).send(ACCEPTED)
  }

  const routeOptions = { bodyLimit: opts.bodyLimitBytes }
  app.post('/zoom/webhook', routeOptions, handle)
  app.post('/zoom/webhook/:app', routeOptions, handle)
}

/** Node joins repeated headers with ", ", which no valid signature contains; arrays never occur for these names. */
function headerValue (value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** A low-cardinality label for why a webhook was refused. */
function rejectionReason (err: Error): string {
  if (err instanceof WebhookAuthError) return err.reason
  if (err instanceof UnknownAppError) return 'unknown_app'
  if (err instanceof MalformedBodyError) return 'malformed_body'
  switch ((err as { code?: unknown }).code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'body_too_large'
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'unsupported_media_type'
    default: return statusOf(err) < 500 ? 'bad_request' : 'internal_error'
  }
}
