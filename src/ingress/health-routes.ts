import type { FastifyInstance } from 'fastify'

export interface ReadinessReport {
  ready: boolean
  /** One entry per check: `ok`, or what is wrong. */
  checks: Record<string, string>
  /** Things an operator must know that do not stop this process from working (e.g. Redis lost its data). */
  warnings?: Record<string, string>
}

export type ReadinessCheck = () => Promise<ReadinessReport>

/** `GET /healthz`: the process answers. `GET /readyz`: Redis reachable and, where this role runs them, workers running. */
export function registerHealthRoutes (app: FastifyInstance, checkReadiness: ReadinessCheck): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const report = await checkReadiness()
    return await reply.code(report.ready ? 200 : 503).send(report)
  })
}
