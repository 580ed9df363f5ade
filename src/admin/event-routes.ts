import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Config } from '../config/config.js'
import { EventQueryError, RelayError } from '../errors.js'
import type { EventHistory } from '../history/event-history.js'
import type { ReplayResult } from '../history/event-replay.js'
import { eventDetailPage, eventListPage, problemPage, replayResultPage } from './events-page.js'
import { eventQueryFrom, replayRequestFrom } from './filter-input.js'

/** The Events page: linked from the queue UI's menu. */
export const EVENTS_PAGE = '/events'

/**
 * The event history's admin routes: the JSON API (`/api/events`, the same
 * operations as `zoom-relay events`) and the Events page. Authentication and
 * the CSRF rule are the admin server's own hooks, as for every other route.
 */
export async function registerEventRoutes (app: FastifyInstance, history: EventHistory, config: Config): Promise<void> {
  const replay = async (input: Record<string, unknown>): Promise<ReplayResult> => {
    const request = replayRequestFrom(input)
    if (request.destination === undefined) throw new EventQueryError('A replay needs "destination": the one destination to send to.')
    return await history.replay(request.ids !== undefined ? { ids: request.ids } : { filters: request.filters }, request.destination, { dryRun: request.dryRun, force: request.force })
  }

  app.get<{ Querystring: Record<string, string> }>('/api/events', async request => {
    const { filters, limit, cursor } = eventQueryFrom(request.query)
    return await history.list(filters, { limit, cursor })
  })
  app.get<{ Params: { app: string, id: string } }>('/api/events/:app/:id', async request => await history.get(`${request.params.app}/${request.params.id}`))
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/events/replay', async request => await replay(request.body ?? {}))

  app.get<{ Querystring: Record<string, string> }>(EVENTS_PAGE, async (request, reply) => await html(reply, async () => {
    const query = eventQueryFrom(request.query)
    const page = await history.list(query.filters, { limit: query.limit, cursor: query.cursor })
    const next = page.cursor === null ? undefined : `${EVENTS_PAGE}?${new URLSearchParams({ ...withoutEmpty(request.query), cursor: page.cursor }).toString()}`
    return eventListPage(config, query, page, next)
  }))
  app.get<{ Params: { app: string, id: string } }>(`${EVENTS_PAGE}/:app/:id`, async (request, reply) => await html(reply, async () =>
    eventDetailPage(config, await history.get(`${request.params.app}/${request.params.id}`))))
  // The page's replay form: a same-origin form POST (the admin server refuses a cross-site one with the cookie).
  app.post<{ Body: Record<string, unknown> | undefined }>(`${EVENTS_PAGE}/replay`, async (request, reply) => await html(reply, async () =>
    replayResultPage(await replay(request.body ?? {}))))
}

/** Renders a page; a refusal or bad input becomes a page with its status, code and message, not JSON. */
async function html (reply: FastifyReply, render: () => Promise<string>): Promise<FastifyReply> {
  let page: string
  try {
    page = await render()
  } catch (err) {
    if (!(err instanceof RelayError) || err.statusCode >= 500) throw err
    reply.code(err.statusCode)
    page = problemPage(err.code, err.message)
  }
  return await reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(page)
}

function withoutEmpty (query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([key, value]) => value !== '' && key !== 'cursor'))
}
