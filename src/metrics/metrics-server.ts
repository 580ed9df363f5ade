import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { errorReply } from '../ingress/error-reply.js'
import { registerHealthRoutes, type ReadinessCheck } from '../ingress/health-routes.js'
import type { RelayMetrics } from './relay-metrics.js'

/**
 * The internal server on `METRICS_PORT`: `GET /metrics` for Prometheus, plus
 * `/healthz` and `/readyz` so worker-only processes can be probed too.
 */
export function buildMetricsServer (metrics: RelayMetrics, checkReadiness: ReadinessCheck, logger: Logger): FastifyInstance {
  const app = Fastify({ loggerInstance: logger.child({ server: 'metrics' }) as FastifyBaseLogger })
  app.setErrorHandler(errorReply)
  registerHealthRoutes(app, checkReadiness, { details: true })
  // Scrapes every few seconds would drown the log at info level.
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return await reply.type(metrics.registry.contentType).send(text)
  })
  return app
}
