import { createHmac, timingSafeEqual } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { errorReply } from '../ingress/error-reply.js'
import { perClientRateLimit } from '../ingress/rate-limit.js'
import { trustedProxies } from '../ingress/trusted-proxies.js'
import { escapeHtml } from '../oauth/oauth-page.js'
import { DeadLetters } from '../operations/dead-letters.js'
import { relayStatus } from '../operations/relay-status.js'
import { DestinationControl } from '../operations/destination-control.js'
import { EventHistory } from '../history/event-history.js'
import type { RelayQueues } from '../retry/relay-queues.js'
import { AdminSessions } from './admin-sessions.js'
import { EVENTS_PAGE, registerEventRoutes } from './event-routes.js'
import { deadLetterFiltersFrom } from './filter-input.js'
import { isAllowedQueueUiAction } from './queue-ui-actions.js'
import { redactSecrets } from './redact.js'
import { cameOverHttps, isSameOrigin } from './request-origin.js'

const SESSION_COOKIE = 'zr_admin'
const UI_PATH = '/ui'
/** Sign-in attempts per minute per client address. */
const LOGIN_ATTEMPTS_PER_MINUTE = 10
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface AdminServerOptions {
  config: Config
  adminToken: string
  queues: RelayQueues
  redis: RedisClient
  logger: Logger
}

/**
 * The admin API and queue UI, on their own port (loopback by default), only
 * when `ADMIN_TOKEN` is set. Every request needs `Authorization: Bearer
 * <ADMIN_TOKEN>` (compared in constant time) — or, for the browser UI, a live
 * session cookie from the login form — except the login form itself. A change
 * (any method but GET/HEAD/OPTIONS) made with the cookie must also come from
 * the same origin; the JSON API takes JSON only; the queue UI's destructive
 * actions are refused.
 */
export async function buildAdminServer ({ config, adminToken, queues, redis, logger }: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ server: 'admin' }) as FastifyBaseLogger,
    // X-Forwarded-Proto (Secure cookies, same-origin checks) and -For (the login rate limit) only from TRUSTED_PROXIES.
    trustProxy: trustedProxies(config)
  })
  app.setErrorHandler(errorReply)
  await app.register(rateLimit, { ...perClientRateLimit(LOGIN_ATTEMPTS_PER_MINUTE), global: false })
  const deadLetters = new DeadLetters(queues)
  const sessions = new AdminSessions(redis, { prefix: config.redisPrefix })

  /** How the request proves itself: the bearer token, a live session cookie, or nothing. */
  const authenticate = async (request: FastifyRequest): Promise<'bearer' | { session: string } | undefined> => {
    const header = request.headers.authorization
    if (typeof header === 'string' && header.startsWith('Bearer ')) return sameSecret(header.slice(7), adminToken) ? 'bearer' : undefined
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (cookie === undefined) return undefined
    return await sessions.isLive(cookie) ? { session: cookie } : undefined
  }

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    if (path === '/login') return
    const auth = await authenticate(request)
    if (auth === undefined) {
      // A browser asking for a page goes to the login form; API calls (the UI's included) get a 401.
      if (request.method === 'GET' && request.headers.accept?.includes('text/html') === true) return await reply.redirect('/login')
      return await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'ZR_ADMIN_UNAUTHORIZED', message: 'Send Authorization: Bearer <ADMIN_TOKEN>.' })
    }
    if (SAFE_METHODS.has(request.method)) return
    // A cookie rides along with any cross-site form or fetch: for a change it must come from our own pages.
    if (auth !== 'bearer' && !isSameOrigin(request)) {
      return await reply.code(403).send({ error: 'ZR_ADMIN_CROSS_SITE', message: 'A change with the session cookie must come from the admin UI itself (same origin); scripts send Authorization: Bearer <ADMIN_TOKEN>.' })
    }
    if (path.startsWith('/api/') && !isJson(request.headers['content-type'])) {
      return await reply.code(415).send({ error: 'ZR_ADMIN_JSON_ONLY', message: 'The admin API takes JSON only: send Content-Type: application/json.' })
    }
    const route = request.routeOptions.url ?? ''
    if (route.startsWith(`${UI_PATH}/`) && !isAllowedQueueUiAction(request.method, route.slice(UI_PATH.length))) {
      return await reply.code(403).send({ error: 'ZR_ADMIN_ACTION_DISABLED', message: 'This queue UI action is turned off: retry, promote, pause and resume are allowed; dead letters are purged with the CLI or POST /api/dead-letters/purge.' })
    }
    if (auth !== 'bearer') request.adminSession = auth.session
  })

  app.get('/login', async (_request, reply) => await loginPage(reply, ''))
  app.post<{ Body: { token?: string } }>('/login', { config: { rateLimit: perClientRateLimit(LOGIN_ATTEMPTS_PER_MINUTE) } }, async (request, reply) => {
    if (!sameSecret(request.body?.token ?? '', adminToken)) return await loginPage(reply.code(401), 'That is not the admin token.')
    const id = await sessions.create()
    return await reply
      .header('set-cookie', sessionCookie(id, sessions.ttlSeconds, cameOverHttps(request)))
      .redirect(UI_PATH)
  })
  app.post('/logout', async (request, reply) => {
    if (request.adminSession !== undefined) await sessions.revoke(request.adminSession)
    return await reply.header('set-cookie', sessionCookie('', 0, cameOverHttps(request))).redirect('/login')
  })
  // Only the login form and the Events page's replay form post a form; the API refuses one before parsing (415 above).
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
  app.get<{ Querystring: Record<string, string> }>('/api/dead-letters', async request => await deadLetters.list(deadLetterFiltersFrom(request.query)))
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/dead-letters/replay', async request => {
    const filters = deadLetterFiltersFrom(request.body ?? {})
    const dryRun = request.body?.dryRun === true
    const replayed = await deadLetters.replay(filters, { dryRun, all: request.body?.all === true })
    return { dryRun, replayed: replayed.length, jobs: replayed }
  })
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/dead-letters/purge', async request => {
    const purged = await deadLetters.purge(deadLetterFiltersFrom(request.body ?? {}), { all: request.body?.all === true })
    return { purged: purged.length }
  })

  // The event history: /api/events… and the Events page (/events).
  await registerEventRoutes(app, new EventHistory(config, redis, queues), config)

  // bull-board, with every job's data shown through the redactor.
  const ui = new FastifyAdapter()
  const adapters = queues.all().map(({ queue }) => {
    const adapter = new BullMQAdapter(queue, { allowRetries: true })
    adapter.setFormatter('data', redactSecrets)
    return adapter
  })
  createBullBoard({ queues: adapters, serverAdapter: ui, options: { uiConfig: { boardTitle: 'zoom-webhook-relay', miscLinks: [{ text: 'Events', url: EVENTS_PAGE }] } } })
  ui.setBasePath(UI_PATH)
  await app.register(ui.registerPlugin(), { prefix: UI_PATH })
  return app
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The session id of a cookie-authenticated admin request (for POST /logout). */
    adminSession?: string
  }
}

function sessionCookie (value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`
}

function isJson (contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json'
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
