import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { URL_VALIDATION_EVENT } from '../zoom/challenge.js'

/**
 * The web server's request log: one line per request, written when it is
 * answered, instead of Fastify's two ("incoming request", "request
 * completed"). It carries what both did (method, URL, client, status, time)
 * and the app and event, for half the logging cost of a webhook
 * (docs/performance.md). Fastify's other log lines are unchanged.
 *
 * A webhook answered 2xx (stored, or a duplicate of one stored) is logged at
 * `debug`: each is already in the event history (`zoom-relay events list`)
 * and counted in `zoom_relay_webhooks_received_total`, and at 5,000 a second
 * its line at `info` cost about 3 ms of the ack's p99 (docs/performance.md).
 * Refusals, 503s, URL validations and every other route stay at `info`.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime, app: request.zoomApp?.name, event: request.zoomEvent }
    if (error !== null && error !== undefined) reply.log.error({ ...line, err: error }, 'request errored')
    else if (storedWebhook(request, reply)) reply.log.debug(line, 'request completed')
    else reply.log.info(line, 'request completed')
  }
}

/** A webhook whose event the relay took (stored or a duplicate): not a refusal, not a URL validation. */
function storedWebhook (request: FastifyRequest, reply: FastifyReply): boolean {
  return reply.statusCode < 300 && request.zoomEvent !== undefined && request.zoomEvent !== URL_VALIDATION_EVENT
}
