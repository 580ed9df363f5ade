import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { RelayError } from '../errors.js'

/** The JSON body of every error answer: a stable code and a sentence for humans. */
export interface ErrorBody {
  error: string
  message: string
}

/**
 * One error shape for every route. Client errors (ours and Fastify's own
 * `FST_ERR_*`, e.g. 413 and 415) say what was wrong; server errors never show
 * internals or a stack trace, and are logged instead.
 */
export function errorReply (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = statusOf(err)
  const code = (err as { code?: unknown }).code
  const body: ErrorBody = status < 500 || err instanceof RelayError
    ? { error: typeof code === 'string' ? code : 'ZR_BAD_REQUEST', message: err.message }
    : { error: 'ZR_INTERNAL', message: 'Internal error; see the relay log.' }
  if (status >= 500) request.log.error({ err }, 'request failed')
  return reply.code(status).send(body)
}

export function statusOf (err: Error): number {
  const status = (err as { statusCode?: unknown }).statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}
