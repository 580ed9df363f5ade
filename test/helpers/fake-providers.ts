import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Local stand-ins for Zoom's authorization server, Recall's Zoom OAuth
 * Credentials API and Attendee's Zoom OAuth Connections API, written from the
 * documents in ../shared/seeds (status codes, bodies, the conflict answer,
 * pagination, Retry-After). Real HTTP on 127.0.0.1; never the real services.
 */

/** What "Zoom" remembers about a code it issued: whom it is for, and the PKCE challenge it was asked with. */
interface IssuedCode {
  redirectUri: string
  challenge: string | undefined
  accountId: string
  userId: string
  used: boolean
}

/** Zoom's side of the flow, shared by the fakes: a code is single-use and bound to its challenge. */
export class FakeZoom {
  private readonly codes = new Map<string, IssuedCode>()

  /** What Zoom does after the person clicks "Allow": a code for the authorize URL's parameters. */
  authorize (authorizeUrl: string, who: { accountId: string, userId: string }): { code: string, state: string, redirectUri: string } {
    const url = new URL(authorizeUrl)
    const redirectUri = url.searchParams.get('redirect_uri') ?? ''
    const code = `zoom-code-${randomUUID()}`
    this.codes.set(code, {
      redirectUri,
      challenge: url.searchParams.get('code_challenge') ?? undefined,
      ...who,
      used: false
    })
    return { code, state: url.searchParams.get('state') ?? '', redirectUri }
  }

  /** Whose code this is, without spending it (Recall checks for a conflict before exchanging). */
  peek (code: string): { accountId: string, userId: string } | undefined {
    const issued = this.codes.get(code)
    return issued === undefined ? undefined : { accountId: issued.accountId, userId: issued.userId }
  }

  /** Zoom's token endpoint rules: known, unused, same redirect URI, and the verifier matches the challenge (S256). */
  exchange (code: string, redirectUri: string, verifier: string | undefined): { accountId: string, userId: string } | { error: string } {
    const issued = this.codes.get(code)
    if (issued === undefined || issued.used) return { error: 'invalid_grant' }
    if (issued.redirectUri !== redirectUri) return { error: 'invalid_redirect_uri' }
    if (issued.challenge !== undefined) {
      if (verifier === undefined) return { error: 'invalid_request: code_verifier missing' }
      if (createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) return { error: 'invalid_grant: code_verifier does not match' }
    }
    issued.used = true
    return { accountId: issued.accountId, userId: issued.userId }
  }
}

export interface ApiRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingHttpHeaders
  body: unknown
}

/** A scripted answer that replaces the next matching request's real one (429, 500, a hang…). */
export interface ForcedReply {
  method?: string
  pathIncludes?: string
  /** Answer only after this long (longer than the client's timeout: no answer at all, as far as it knows). */
  delayMs?: number
  status: number
  headers?: Record<string, string>
  body?: unknown
}

interface FakeApi {
  url: string
  requests: ApiRequest[]
  /** Answers the next matching requests with these, in order. */
  force: (...replies: ForcedReply[]) => void
  close: () => Promise<void>
}

type Route = (req: ApiRequest) => { status: number, body?: unknown, headers?: Record<string, string> }

async function serve (apiKey: string, route: Route, extra?: (req: ApiRequest) => boolean): Promise<FakeApi & { server: Server }> {
  const requests: ApiRequest[] = []
  const forced: ForcedReply[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake')
      const text = Buffer.concat(chunks).toString()
      let body: unknown = text
      try { body = text === '' ? undefined : JSON.parse(text) } catch {}
      const request: ApiRequest = { method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body }
      if (extra?.(request) === true) { res.writeHead(200).end(); return }
      requests.push(request)
      const send = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(payload === undefined ? '' : JSON.stringify(payload))
      }
      const index = forced.findIndex(f => (f.method === undefined || f.method === request.method) && (f.pathIncludes === undefined || request.path.includes(f.pathIncludes)))
      if (index !== -1) {
        const [reply] = forced.splice(index, 1)
        if (reply !== undefined) {
          setTimeout(() => { if (!res.destroyed) send(reply.status, reply.body, reply.headers) }, reply.delayMs ?? 0)
          return
        }
      }
      if (req.headers.authorization !== `Token ${apiKey}`) { send(401, { detail: 'Invalid token.' }); return }
      const answer = route(request)
      send(answer.status, answer.body, answer.headers)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    requests,
    force: (...replies) => { forced.push(...replies) },
    close: async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) }
  }
}

export interface RecallCredentialRecord {
  id: string
  oauth_app: string
  status: string
  user_id: string | null
  account_id: string | null
  created_at: string
  meeting_sync_status: string
}

export interface FakeRecall extends FakeApi {
  credentials: Map<string, RecallCredentialRecord>
  /** Webhooks POSTed to `/api/v2/zoom-oauth-apps/<id>/webhook` (kept apart from API requests). */
  webhooks: Array<{ path: string, body: Buffer, headers: IncomingHttpHeaders }>
  addCredential: (fields: { accountId: string, userId: string, appId?: string }) => RecallCredentialRecord
}

const PAGE_SIZE = 2

/**
 * Recall's `/api/v2/zoom-oauth-credentials/`: create (400 with
 * `conflicting_zoom_account_id` when the Zoom account already has a
 * credential for that OAuth app), list (filters, pages of 2 with an absolute
 * `next` link), retrieve, delete. The same server takes webhooks.
 */
export async function startFakeRecall (opts: { apiKey: string, appId: string, zoom: FakeZoom }): Promise<FakeRecall> {
  const credentials = new Map<string, RecallCredentialRecord>()
  const webhooks: FakeRecall['webhooks'] = []
  let base = ''
  const addCredential: FakeRecall['addCredential'] = ({ accountId, userId, appId }) => {
    const record: RecallCredentialRecord = { id: randomUUID(), oauth_app: appId ?? opts.appId, status: 'healthy', user_id: userId, account_id: accountId, created_at: new Date().toISOString(), meeting_sync_status: 'not_started' }
    credentials.set(record.id, record)
    return record
  }
  const route: Route = req => {
    const match = /^\/api\/v2\/zoom-oauth-credentials\/(?:([^/]+)\/)?$/.exec(req.path)
    if (match === null) return { status: 404, body: { detail: 'Not found.' } }
    const id = match[1]
    if (id === undefined && req.method === 'POST') {
      const body = req.body as { oauth_app?: string, authorization_code?: { code?: string, redirect_uri?: string, code_verifier?: string } }
      if (body.oauth_app !== opts.appId) return { status: 400, body: { oauth_app: ['Invalid pk - object does not exist.'] } }
      const code = body.authorization_code
      const account = opts.zoom.peek(code?.code ?? '')
      // Recall refuses a second credential for the same Zoom account before it spends the code.
      const existing = [...credentials.values()].find(c => c.oauth_app === opts.appId && account !== undefined && c.account_id === account.accountId)
      if (existing !== undefined) {
        return { status: 400, body: { detail: `A Zoom OAuth Credential already exists for this OAuth App and Zoom account(account_id: ${existing.account_id ?? ''}).`, conflicting_zoom_account_id: existing.account_id } }
      }
      const exchanged = opts.zoom.exchange(code?.code ?? '', code?.redirect_uri ?? '', code?.code_verifier)
      if ('error' in exchanged) return { status: 400, body: { detail: `Invalid Grant (${exchanged.error})` } }
      return { status: 201, body: addCredential(exchanged) }
    }
    if (id === undefined && req.method === 'GET') {
      const all = [...credentials.values()].filter(c =>
        ['oauth_app', 'user_id', 'account_id', 'status'].every(key => !req.query.has(key) || (c as unknown as Record<string, unknown>)[key] === req.query.get(key)))
      const offset = Number(req.query.get('offset') ?? '0')
      const next = offset + PAGE_SIZE < all.length ? `${base}${req.path}?${new URLSearchParams({ ...Object.fromEntries(req.query), offset: String(offset + PAGE_SIZE) }).toString()}` : null
      return { status: 200, body: { next, previous: null, results: all.slice(offset, offset + PAGE_SIZE) } }
    }
    if (id !== undefined && req.method === 'GET') {
      const found = credentials.get(id)
      return found === undefined ? { status: 404, body: { detail: 'Not found.' } } : { status: 200, body: found }
    }
    if (id !== undefined && req.method === 'DELETE') {
      return credentials.delete(id) ? { status: 204 } : { status: 404, body: { detail: 'Not found.' } }
    }
    return { status: 405, body: { detail: 'Method not allowed.' } }
  }
  const api = await serve(opts.apiKey, route, req => {
    if (req.method !== 'POST' || !/^\/api\/v2\/zoom-oauth-apps\/[^/]+\/webhook$/.test(req.path)) return false
    webhooks.push({ path: req.path, body: Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body)), headers: req.headers })
    return true
  })
  base = api.url
  return { ...api, credentials, webhooks, addCredential }
}

export interface FakeAttendee extends FakeApi {
  connections: Map<string, Record<string, unknown>>
}

/** Attendee's `/api/v1/zoom_oauth_connections`: create (Attendee exchanges the code itself), list, get, delete. */
export async function startFakeAttendee (opts: { apiKey: string, zoom: FakeZoom }): Promise<FakeAttendee> {
  const connections = new Map<string, Record<string, unknown>>()
  const route: Route = req => {
    const match = /^\/api\/v1\/zoom_oauth_connections(?:\/([^/]+))?\/?$/.exec(req.path)
    if (match === null) return { status: 404, body: { detail: 'Not found.' } }
    const id = match[1]
    if (id === undefined && req.method === 'POST') {
      const body = req.body as Record<string, unknown>
      for (const field of ['zoom_oauth_app_id', 'authorization_code', 'redirect_uri']) {
        if (typeof body[field] !== 'string') return { status: 400, body: { [field]: ['This field is required.'] } }
      }
      const exchanged = opts.zoom.exchange(body.authorization_code as string, body.redirect_uri as string, undefined)
      if ('error' in exchanged) return { status: 400, body: { error: exchanged.error } }
      const connection = {
        id: randomUUID(),
        zoom_oauth_app_id: body.zoom_oauth_app_id,
        zoom_user_id: exchanged.userId,
        zoom_account_id: exchanged.accountId,
        state: 'connected',
        is_local_recording_token_supported: body.is_local_recording_token_supported,
        is_onbehalf_token_supported: body.is_onbehalf_token_supported,
        created_at: new Date().toISOString()
      }
      connections.set(connection.id, connection)
      return { status: 201, body: connection }
    }
    if (id === undefined && req.method === 'GET') return { status: 200, body: { next: null, previous: null, results: [...connections.values()] } }
    if (id !== undefined && req.method === 'GET') {
      const found = connections.get(id)
      return found === undefined ? { status: 404, body: { detail: 'Not found.' } } : { status: 200, body: found }
    }
    if (id !== undefined && req.method === 'DELETE') return connections.delete(id) ? { status: 204 } : { status: 404, body: { detail: 'Not found.' } }
    return { status: 405 }
  }
  const api = await serve(opts.apiKey, route)
  return { ...api, connections }
}
