import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * Local stand-ins for Zoom's authorization server, Recall's Zoom OAuth
 * Credentials API and Attendee's Zoom OAuth Connections API, written from the
 * documents in ../shared/seeds and ../shared/zoom-recall-facts.md (fields,
 * defaults, validation, status codes, the conflict answer, pagination,
 * Retry-After). As strict as the real services: what they refuse, these
 * refuse. Real HTTP on 127.0.0.1; never the real services.
 */

/** Every scope Attendee's flags need (local recording and on-behalf together). */
export const ALL_ATTENDEE_SCOPES: readonly string[] = ['user:read:user', 'user:read:zak', 'meeting:read:list_meetings', 'meeting:read:local_recording_token', 'user:read:token']

/** Who clicks "Allow" at Zoom, and which scopes the app's token then has (default: every scope Attendee may need). */
export interface ZoomUser {
  accountId: string
  userId: string
  scopes?: readonly string[]
}

/** What "Zoom" remembers about a code it issued: whom it is for, and the PKCE challenge it was asked with. */
interface IssuedCode {
  redirectUri: string
  challenge: string | undefined
  accountId: string
  userId: string
  scopes: readonly string[]
  used: boolean
}

/** Zoom's side of the flow, shared by the fakes: a code is single-use and bound to its challenge. */
export class FakeZoom {
  private readonly codes = new Map<string, IssuedCode>()

  /** What Zoom does after the person clicks "Allow": a code for the authorize URL's parameters. */
  authorize (authorizeUrl: string, who: ZoomUser): { code: string, state: string, redirectUri: string } {
    const url = new URL(authorizeUrl)
    const redirectUri = url.searchParams.get('redirect_uri') ?? ''
    const code = `zoom-code-${randomUUID()}`
    this.codes.set(code, {
      redirectUri,
      challenge: url.searchParams.get('code_challenge') ?? undefined,
      accountId: who.accountId,
      userId: who.userId,
      scopes: who.scopes ?? ALL_ATTENDEE_SCOPES,
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
  exchange (code: string, redirectUri: string, verifier: string | undefined): { accountId: string, userId: string, scopes: readonly string[] } | { error: string } {
    const issued = this.codes.get(code)
    if (issued === undefined || issued.used) return { error: 'invalid_grant' }
    if (issued.redirectUri !== redirectUri) return { error: 'invalid_redirect_uri' }
    if (issued.challenge !== undefined) {
      if (verifier === undefined) return { error: 'invalid_request: code_verifier missing' }
      if (createHash('sha256').update(verifier).digest('base64url') !== issued.challenge) return { error: 'invalid_grant: code_verifier does not match' }
    }
    issued.used = true
    return { accountId: issued.accountId, userId: issued.userId, scopes: issued.scopes }
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
const RECALL_CREATE_FIELDS = ['oauth_app', 'authorization_code', 'access_token_callback_url']
const RECALL_CODE_FIELDS = ['code', 'redirect_uri', 'code_verifier']

/** The fields of a JSON object body outside `allowed`, sorted; undefined when there are none. A body that is no object counts as all wrong. */
function unexpectedFields (body: unknown, allowed: readonly string[]): string[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['(body is not a JSON object)']
  const extra = Object.keys(body).filter(k => !allowed.includes(k)).sort()
  return extra.length === 0 ? undefined : extra
}

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
      const refused = unexpectedFields(req.body, RECALL_CREATE_FIELDS) ?? unexpectedFields((req.body as { authorization_code?: unknown }).authorization_code ?? {}, RECALL_CODE_FIELDS)
      if (refused !== undefined) return { status: 400, body: { detail: `Unexpected field(s): ${refused.join(', ')}` } }
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

/** A connection as Attendee's ZoomOAuthConnectionSerializer returns it. */
export interface AttendeeConnectionRecord {
  id: string
  zoom_oauth_app_id: string
  user_id: string
  account_id: string | null
  state: 'connected' | 'disconnected'
  metadata: Record<string, unknown> | null
  is_local_recording_token_supported: boolean
  is_onbehalf_token_supported: boolean
  connection_failure_data: unknown
  created_at: string
  updated_at: string
  last_successful_sync_at: string | null
  last_attempted_sync_at: string | null
}

export interface FakeAttendee extends FakeApi {
  /** Every connection of the project, oldest first (the API lists newest first). */
  connections: Map<string, AttendeeConnectionRecord>
  /** Webhooks POSTed to `/external_webhooks/zoom/oauth_apps/<zoa_…>` (kept apart from API requests). */
  webhooks: Array<{ path: string, body: Buffer, headers: IncomingHttpHeaders }>
  /** A connection as if someone had connected earlier (`appId` defaults to the project's first app). */
  addConnection: (fields: { userId: string, accountId: string, appId?: string, metadata?: Record<string, unknown> }) => AttendeeConnectionRecord
}

const ATTENDEE_PAGE_SIZE = 25
const ATTENDEE_CREATE_FIELDS = ['zoom_oauth_app_id', 'authorization_code', 'redirect_uri', 'is_local_recording_token_supported', 'is_onbehalf_token_supported', 'metadata']
const LOCAL_RECORDING_SCOPES = ['user:read:user', 'user:read:zak', 'meeting:read:list_meetings', 'meeting:read:local_recording_token']
const ONBEHALF_SCOPES = ['user:read:user', 'user:read:token']
const NOT_FOUND = { status: 404, body: { error: 'Zoom OAuth Connection not found' } }

/** DRF's BooleanField: true/false and the strings and numbers it maps to them. */
function drfBoolean (value: unknown, fallback: boolean): boolean | undefined {
  if (value === undefined) return fallback
  if ([true, 'true', 'True', 'TRUE', 1, '1', 'yes', 'on'].includes(value as never)) return true
  if ([false, 'false', 'False', 'FALSE', 0, '0', 'no', 'off'].includes(value as never)) return false
  return undefined
}

/**
 * Attendee's `/api/v1/zoom_oauth_connections` as its open-source code
 * behaves (see ../shared/zoom-recall-facts.md): paths without a trailing
 * slash; create accepts exactly six fields ("Unexpected field(s)" otherwise),
 * refuses both flags false, checks the app is in the project, exchanges the
 * code with Zoom itself, refuses a token without the scopes its flags need,
 * and keeps one connection per app and Zoom user (installing again updates it,
 * same id); the list holds every app of the project, newest first, 25 a page
 * behind an opaque cursor; DELETE answers 200 with an empty body.
 */
export async function startFakeAttendee (opts: { apiKey: string, zoom: FakeZoom, apps: readonly string[] }): Promise<FakeAttendee> {
  const connections = new Map<string, AttendeeConnectionRecord>()
  let base = ''
  let clock = Date.UTC(2026, 0, 1)
  // A strictly increasing created_at, so "newest first" is well defined whatever the wall clock does.
  const now = (): string => new Date(clock += 1000).toISOString()
  const addConnection: FakeAttendee['addConnection'] = ({ userId, accountId, appId, metadata }) => {
    const at = now()
    const record: AttendeeConnectionRecord = {
      id: `zoc_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
      zoom_oauth_app_id: appId ?? opts.apps[0] ?? '',
      user_id: userId,
      account_id: accountId,
      state: 'connected',
      metadata: metadata ?? null,
      is_local_recording_token_supported: true,
      is_onbehalf_token_supported: false,
      connection_failure_data: null,
      created_at: at,
      updated_at: at,
      last_successful_sync_at: null,
      last_attempted_sync_at: null
    }
    connections.set(record.id, record)
    return record
  }

  const create = (body: unknown): { status: number, body?: unknown } => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] } }
    const data = body as Record<string, unknown>
    // Field validation first (DRF), then the serializer's validate().
    const fieldErrors: Record<string, string[]> = {}
    for (const field of ['authorization_code', 'redirect_uri']) {
      if (data[field] === undefined) fieldErrors[field] = ['This field is required.']
      else if (typeof data[field] !== 'string' || data[field] === '') fieldErrors[field] = ['Not a valid string.']
    }
    if (data.zoom_oauth_app_id !== undefined && data.zoom_oauth_app_id !== null && typeof data.zoom_oauth_app_id !== 'string') fieldErrors.zoom_oauth_app_id = ['Not a valid string.']
    const local = drfBoolean(data.is_local_recording_token_supported, true)
    const onbehalf = drfBoolean(data.is_onbehalf_token_supported, false)
    if (local === undefined) fieldErrors.is_local_recording_token_supported = ['Must be a valid boolean.']
    if (onbehalf === undefined) fieldErrors.is_onbehalf_token_supported = ['Must be a valid boolean.']
    const metadata = data.metadata
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) fieldErrors.metadata = ['Metadata must be an object not an array or other type']
      else if (Object.keys(metadata).length === 0) fieldErrors.metadata = ['Metadata must have at least one key']
      else {
        const notString = Object.entries(metadata).find(([, v]) => typeof v !== 'string')
        if (notString !== undefined) fieldErrors.metadata = [`Value for key '${notString[0]}' must be a string`]
      }
    }
    if (Object.keys(fieldErrors).length > 0) return { status: 400, body: fieldErrors }
    const extra = Object.keys(data).filter(k => !ATTENDEE_CREATE_FIELDS.includes(k)).sort()
    if (extra.length > 0) return { status: 400, body: { non_field_errors: [`Unexpected field(s): ${extra.join(', ')}. Allowed fields are: ${[...ATTENDEE_CREATE_FIELDS].sort().join(', ')}`] } }
    if (local !== true && onbehalf !== true) return { status: 400, body: { non_field_errors: ['At least one of is_local_recording_token_supported or is_onbehalf_token_supported must be true'] } }

    const appId = typeof data.zoom_oauth_app_id === 'string' && data.zoom_oauth_app_id !== '' ? data.zoom_oauth_app_id : undefined
    if (appId !== undefined && !opts.apps.includes(appId)) return { status: 400, body: { error: `Zoom OAuth App with id ${appId} does not exist in this project (test).` } }
    if (appId === undefined && opts.apps.length !== 1) {
      return opts.apps.length === 0
        ? { status: 400, body: { error: 'No Zoom OAuth App found in this project (test). Please add a Zoom OAuth App first.' } }
        : { status: 500, body: 'Server Error (500)' } // Django's get() finds several apps
    }
    const app = appId ?? opts.apps[0] ?? ''

    const exchanged = opts.zoom.exchange(data.authorization_code as string, data.redirect_uri as string, undefined)
    if ('error' in exchanged) return { status: 400, body: { error: 'Error exchanging access code for tokens. Please check that the authorization code and redirect URI are correct.' } }
    const needed = [...new Set([...(local ? LOCAL_RECORDING_SCOPES : []), ...(onbehalf ? ONBEHALF_SCOPES : [])])]
    const missing = needed.filter(scope => !exchanged.scopes.includes(scope))
    if (missing.length > 0) return { status: 400, body: { error: `The authorization is missing the following required scopes: [${missing.map(m => `'${m}'`).join(', ')}].` } }

    // get_or_create per (app, Zoom user): a second install updates the same connection.
    const found = [...connections.values()].find(c => c.zoom_oauth_app_id === app && c.user_id === exchanged.userId) ??
      addConnection({ userId: exchanged.userId, accountId: exchanged.accountId, appId: app })
    Object.assign(found, {
      account_id: exchanged.accountId,
      metadata: metadata ?? null,
      is_local_recording_token_supported: local,
      is_onbehalf_token_supported: onbehalf,
      state: 'connected',
      connection_failure_data: null,
      updated_at: now()
    })
    return { status: 201, body: found }
  }

  const list = (req: ApiRequest): { status: number, body?: unknown } => {
    const all = [...connections.values()].sort((a, b) => b.created_at.localeCompare(a.created_at))
    const cursor = req.query.get('cursor')
    let offset = 0
    if (cursor !== null) {
      const decoded = /^o=(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
      if (decoded === null) return { status: 404, body: { detail: 'Invalid cursor' } }
      offset = Number(decoded[1])
    }
    const link = (at: number): string => `${base}/api/v1/zoom_oauth_connections?cursor=${Buffer.from(`o=${at}`).toString('base64url')}`
    return {
      status: 200,
      body: {
        next: offset + ATTENDEE_PAGE_SIZE < all.length ? link(offset + ATTENDEE_PAGE_SIZE) : null,
        previous: offset > 0 ? link(Math.max(0, offset - ATTENDEE_PAGE_SIZE)) : null,
        results: all.slice(offset, offset + ATTENDEE_PAGE_SIZE)
      }
    }
  }

  const route: Route = req => {
    const match = /^\/api\/v1\/zoom_oauth_connections(?:\/([^/]+))?$/.exec(req.path)
    if (match === null) return { status: 404, body: 'Not Found' }
    const id = match[1]
    if (id === undefined && req.method === 'POST') return create(req.body)
    if (id === undefined && req.method === 'GET') return list(req)
    if (id !== undefined && req.method === 'GET') {
      const found = connections.get(id)
      return found === undefined ? NOT_FOUND : { status: 200, body: found }
    }
    // 200 with an empty body, as Attendee's view answers.
    if (id !== undefined && req.method === 'DELETE') return connections.delete(id) ? { status: 200 } : NOT_FOUND
    return { status: 405, body: { detail: `Method "${req.method}" not allowed.` } }
  }
  const webhooks: FakeAttendee['webhooks'] = []
  const api = await serve(opts.apiKey, route, req => {
    if (req.method !== 'POST' || !/^\/external_webhooks\/zoom\/oauth_apps\/[^/]+$/.test(req.path)) return false
    webhooks.push({ path: req.path, body: Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body)), headers: req.headers })
    return true
  })
  base = api.url
  return { ...api, connections, webhooks, addConnection }
}
