import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { RelayMetrics } from '../metrics/relay-metrics.js'
import type { EventProducer } from '../store/event-producer.js'
import { errorReply } from './error-reply.js'
import { OneLineRequestLog } from './request-log.js'
import { trustedProxies } from './trusted-proxies.js'
import { registerHealthRoutes, type ReadinessCheck } from './health-routes.js'
import { webhookRoutes } from './webhook-routes.js'
import { oauthRoutes } from '../oauth/oauth-routes.js'
import type { OAuthStateSigner } from '../oauth/oauth-state.js'
import type { UsedOAuthStates } from '../oauth/used-states.js'
import type { ProviderApis } from '../providers/provider-apis.js'
import type { RelayTracing } from '../tracing/relay-tracing.js'

export interface WebAppOptions {
  config: Config
  producer: EventProducer
  metrics: RelayMetrics
  checkReadiness: ReadinessCheck
  logger: Logger
  /** See WebhookRouteOptions.onUrlValidation. */
  onUrlValidation?: (app: string) => void
  /** The Zoom OAuth connect routes, when some app configures them. */
  oauth?: { signer: OAuthStateSigner, used: UsedOAuthStates, apis: ProviderApis }
  /** See WebhookRouteOptions.tracing. */
  tracing?: RelayTracing
}

/** The public HTTP server: Zoom's webhook routes plus `/healthz` and `/readyz`. */
export function buildWebApp ({ config, producer, metrics, checkReadiness, logger, oauth, onUrlValidation, tracing }: WebAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new OneLineRequestLog(),
    // A slow or stalled client cannot pin the server: Zoom sends ≤ 1 MiB and
    // needs an answer within 3 s anyway. Node checks these deadlines every
    // `connectionsCheckingInterval` (30 s by default: far too coarse here).
    requestTimeout: config.httpRequestTimeoutMs,
    http: {
      headersTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.httpRequestTimeoutMs / 2))
    },
    // Idle sockets: closed after 30 s without traffic; keep-alive outlives the usual 60 s load-balancer idle timeout.
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000,
    bodyLimit: config.bodyLimitBytes,
    // Routes are matched exactly: /zoom/webhook/ is not /zoom/webhook.
    return503OnClosing: true,
    // X-Forwarded-* only from TRUSTED_PROXIES: request.ip is then the client the proxy saw (rate limits count it).
    trustProxy: trustedProxies(config)
  })
  app.server.maxConnections = config.httpMaxConnections
  app.setErrorHandler(errorReply)
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'ZR_ROUTE_NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.` }))
  registerHealthRoutes(app, checkReadiness, { details: false })
  app.register(webhookRoutes, {
    apps: config.apps,
    producer,
    metrics,
    signatureToleranceSeconds: config.signatureToleranceSeconds,
    bodyLimitBytes: config.bodyLimitBytes,
    onUrlValidation,
    tracing
  })
  if (oauth !== undefined) app.register(oauthRoutes, { apps: config.apps, signer: oauth.signer, used: oauth.used, apis: oauth.apis, metrics, rateLimitPerMinute: config.oauthRateLimitPerMinute })
  return app
}
