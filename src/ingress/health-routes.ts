import type { FastifyInstance } from 'fastify'

export interface ReadinessReport {
  ready: boolean
  /** One entry per check: `ok`, or what is wrong. */
  checks: Record<string, string>
  /** Things an operator must know that do not stop this process from working (e.g. Redis lost its data). */
  warnings?: Record<string, string>
}

export type ReadinessCheck = () => Promise<ReadinessReport>

/**
 * `GET /healthz`: the process answers. `GET /readyz`: Redis reachable and, where
 * this role runs them, workers running. With `details: false` (the public
 * webhook port) `/readyz` says only `{"ready":true|false}`: which Redis, what
 * failed and how is for the metrics port, not for anyone on the internet.
 */
export function registerHealthRoutes (app: FastifyInstance, checkReadiness: ReadinessCheck, opts: { details: boolean }): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const report = await checkReadiness()
    return await reply.code(report.ready ? 200 : 503).send(opts.details ? report : { ready: report.ready })
  })
}
