import { createHmac, timingSafeEqual } from 'node:crypto'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { RedisClient } from '../queue/redis-connection.js'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { RelayError } from '../errors.js'
import { errorReply } from '../ingress/error-reply.js'
import { escapeHtml } from '../oauth/oauth-page.js'
import { DeadLetters, type DeadLetterFilters } from '../operations/dead-letters.js'
import { relayStatus } from '../operations/relay-status.js'
import { DestinationControl } from '../operations/destination-control.js'
import type { RelayQueues } from '../queue/relay-queues.js'
import { redactSecrets } from './redact.js'

const SESSION_COOKIE = 'zr_admin'
const UI_PATH = '/ui'

export interface AdminServerOptions {
  config: Config
  adminToken: string
  queues: RelayQueues
  redis: RedisClient
  logger: Logger
}

/**
 * The admin API and queue UI, on their own port, only when `ADMIN_TOKEN` is
 * set. Every request needs `Authorization: Bearer <ADMIN_TOKEN>` (compared in
 * constant time) — or, for the browser UI, the session cookie the login form
 * sets — except the login form itself.
 */
export async function buildAdminServer ({ config, adminToken, queues, redis, logger }: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger.child({ server: 'admin' }) as FastifyBaseLogger })
  app.setErrorHandler(errorReply)
  const deadLetters = new DeadLetters(queues)
  // The cookie holds a MAC of the token, never the token itself.
  const session = createHmac('sha256', adminToken).update('zoom-relay admin session').digest('base64url')

  const authorized = (request: FastifyRequest): boolean => {
    const header = request.headers.authorization
    if (typeof header === 'string' && header.startsWith('Bearer ')) return sameSecret(header.slice(7), adminToken)
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE)
    return cookie !== undefined && sameSecret(cookie, session)
  }

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (path === '/login' || authorized(request)) return
    // A browser asking for a page goes to the login form; API calls (the UI's included) get a 401.
    if (request.method === 'GET' && request.headers.accept?.includes('text/html') === true) return await reply.redirect('/login')
    return await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'ZR_ADMIN_UNAUTHORIZED', message: 'Send Authorization: Bearer <ADMIN_TOKEN>.' })
  })

  app.get('/login', async (_request, reply) => await loginPage(reply, ''))
  app.post<{ Body: { token?: string } }>('/login', async (request, reply) => {
    if (!sameSecret(request.body?.token ?? '', adminToken)) return await loginPage(reply.code(401), 'That is not the admin token.')
    return await reply
      .header('set-cookie', `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200`)
      .redirect(UI_PATH)
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.get('/', async (_request, reply) => await reply.redirect(UI_PATH))

  app.get('/api/status', async () => await relayStatus(config, queues, redis))

  // Pause and resume: every worker process obeys within a second (destination-gate.ts).
  const destinations = new DestinationControl(config, redis)
  app.get<{ Querystring: { app?: string, destination?: string } }>('/api/destinations', async request =>
    ({ destinations: await destinations.list({ app: request.query.app, destination: request.query.destination }) }))
  app.post<{ Params: { app: string, destination: string, action: string } }>('/api/destinations/:app/:destination/:action', async (request, reply) => {
    const { app: appName, destination, action } = request.params
    if (action !== 'pause' && action !== 'resume') return await reply.code(404).send({ error: 'ZR_ADMIN_NOT_FOUND', message: 'Use /api/destinations/:app/:destination/pause or /resume.' })
    const selector = { app: appName, destination }
    const [row] = action === 'pause' ? await destinations.pause(selector) : await destinations.resume(selector)
    return row
  })
  app.get<{ Querystring: Record<string, string> }>('/api/dead-letters', async request => await deadLetters.list(filtersFrom(request.query)))
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/dead-letters/replay', async request => {
    const filters = filtersFrom(request.body ?? {})
    const dryRun = request.body?.dryRun === true
    const replayed = await deadLetters.replay(filters, dryRun)
    return { dryRun, replayed: replayed.length, jobs: replayed }
  })
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/dead-letters/purge', async request => {
    const purged = await deadLetters.purge(filtersFrom(request.body ?? {}))
    return { purged: purged.length }
  })

  // bull-board, with every job's data shown through the redactor.
  const ui = new FastifyAdapter()
  const adapters = queues.all().map(({ queue }) => {
    const adapter = new BullMQAdapter(queue, { allowRetries: true })
    adapter.setFormatter('data', redactSecrets)
    return adapter
  })
  createBullBoard({ queues: adapters, serverAdapter: ui, options: { uiConfig: { boardTitle: 'zoom-webhook-relay' } } })
  ui.setBasePath(UI_PATH)
  await app.register(ui.registerPlugin(), { prefix: UI_PATH })
  return app
}

/** Filters from a query string or a JSON body; numbers and times parsed, anything unknown ignored. */
function filtersFrom (input: Record<string, unknown>): DeadLetterFilters {
  const text = (key: string): string | undefined => typeof input[key] === 'string' && input[key] !== '' ? input[key] : undefined
  const number = (key: string): number | undefined => {
    const value = input[key]
    const parsed = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined
    return parsed
  }
  const time = (key: string): number | undefined => {
    const value = text(key)
    if (value === undefined) return undefined
    const at = Date.parse(value)
    if (Number.isNaN(at)) throw new RelayError('ZR_ADMIN_BAD_FILTER', `${key} must be an ISO time, e.g. 2026-11-24T09:00:00Z.`, 400)
    return at
  }
  const ids = Array.isArray(input.ids) ? input.ids.filter((id): id is string => typeof id === 'string') : undefined
  return {
    app: text('app'),
    destination: text('destination'),
    event: text('event'),
    meeting: text('meeting'),
    account: text('account'),
    status: number('status'),
    since: time('since'),
    until: time('until'),
    limit: number('limit'),
    ids
  }
}

function sameSecret (given: string, expected: string): boolean {
  // Hash both sides to a fixed length: timingSafeEqual needs equal lengths, and the length must not leak either.
  const a = createHmac('sha256', 'zoom-relay admin compare').update(given).digest()
  const b = createHmac('sha256', 'zoom-relay admin compare').update(expected).digest()
  return timingSafeEqual(a, b)
}

function readCookie (header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

async function loginPage (reply: FastifyReply, problem: string): Promise<FastifyReply> {
  return await reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zoom-webhook-relay admin</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input,button{font:inherit;padding:.4rem}</style></head>
<body><h1>zoom-webhook-relay admin</h1>${problem === '' ? '' : `<p role="alert">${escapeHtml(problem)}</p>`}
<form method="post" action="/login"><label>Admin token <input name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>
`)
}
