import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * The web server's request log: one line per request, written when it is
 * answered, instead of Fastify's two ("incoming request", "request
 * completed"). It carries what both did (method, URL, client, status, time)
 * and the app and event, for half the logging cost of a webhook
 * (docs/performance.md). Fastify's other log lines are unchanged.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime, app: request.zoomApp?.name, event: request.zoomEvent }
    if (error !== null && error !== undefined) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
