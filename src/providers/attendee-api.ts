import { listAll, unexpected } from './paginate.js'
import { ScopedApi } from './scoped-api.js'

/**
 * An Attendee Zoom OAuth connection as Attendee's serializer returns it
 * (tokens are never returned). `user_id` and `account_id` are Zoom's ids.
 */
export interface AttendeeConnection {
  /** `zoc_…` */
  id: string
  /** The Attendee Zoom OAuth app (`zoa_…`) it belongs to. */
  zoom_oauth_app_id: string
  user_id: string
  account_id: string | null
  /** `connected` or `disconnected`. */
  state: string
  metadata: Record<string, unknown> | null
  is_local_recording_token_supported: boolean
  is_onbehalf_token_supported: boolean
  created_at?: string
  updated_at?: string
  [field: string]: unknown
}

/** What a connection may do; Attendee refuses a connection with neither. */
export interface AttendeeConnectionFlags {
  isLocalRecordingTokenSupported: boolean
  isOnbehalfTokenSupported: boolean
}

/** Attendee's own defaults (its create serializer): local recording token on, on-behalf token off. */
export const ATTENDEE_DEFAULT_FLAGS: Readonly<AttendeeConnectionFlags> = Object.freeze({ isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: false })

export interface ConnectionFilters {
  /** Zoom user id. */
  user_id?: string
  /** Zoom account id. */
  account_id?: string
}

const CONNECTIONS = '/api/v1/zoom_oauth_connections'
/** Attendee answers 25 a page for the whole project: up to 10,000 connections. */
const MAX_PAGES = 400

/** Attendee's Zoom OAuth Connections API, scoped to one Attendee Zoom OAuth app (`zoa_…`). */
export class AttendeeApi extends ScopedApi {
  /**
   * Exchanges the authorization code (Attendee talks to Zoom itself). Sends
   * exactly the fields Attendee accepts: it refuses any other with 400.
   * Attendee keeps one connection per app and Zoom user, so installing again
   * answers the same connection (same id), updated.
   */
  async createConnection (code: { code: string, redirectUri: string }, flags: AttendeeConnectionFlags = ATTENDEE_DEFAULT_FLAGS, metadata?: Record<string, string>): Promise<AttendeeConnection> {
    const answer = await this.client.request('POST', CONNECTIONS, {
      json: {
        zoom_oauth_app_id: this.appId,
        authorization_code: code.code,
        redirect_uri: code.redirectUri,
        is_local_recording_token_supported: flags.isLocalRecordingTokenSupported,
        is_onbehalf_token_supported: flags.isOnbehalfTokenSupported,
        // Attendee refuses an empty metadata object; leave it out instead.
        ...(metadata === undefined || Object.keys(metadata).length === 0 ? {} : { metadata })
      }
    })
    if (answer.status === 200 || answer.status === 201) return answer.body as AttendeeConnection
    throw unexpected('POST zoom_oauth_connections', answer.status, answer.body)
  }

  /**
   * This app's connections, optionally of one Zoom user or account, every
   * page. Attendee lists the connections of every app in the project and has
   * no filters, so all of it is filtered here.
   */
  async listConnections (filters: ConnectionFilters = {}): Promise<AttendeeConnection[]> {
    const all = await listAll<AttendeeConnection>(this.client, CONNECTIONS, {}, MAX_PAGES)
    // Strict equality on the app: a connection without one is never this app's (and never deleted).
    return all.filter(c =>
      c.zoom_oauth_app_id === this.appId &&
      (filters.user_id === undefined || c.user_id === filters.user_id) &&
      (filters.account_id === undefined || c.account_id === filters.account_id))
  }

  /** The connection, when it exists and belongs to this app (Attendee answers for any app of the project). */
  async getConnection (id: string): Promise<AttendeeConnection | undefined> {
    const answer = await this.client.request('GET', `${CONNECTIONS}/${encodeURIComponent(id)}`)
    if (answer.status === 404) return undefined
    if (answer.status !== 200) throw unexpected('GET zoom_oauth_connections/<id>', answer.status, answer.body)
    const connection = answer.body as AttendeeConnection
    return connection.zoom_oauth_app_id === this.appId ? connection : undefined
  }

  /** `deleted` (Attendee answers 200 with an empty body), or `gone` on 404. */
  async deleteConnection (id: string): Promise<'deleted' | 'gone'> {
    const answer = await this.client.request('DELETE', `${CONNECTIONS}/${encodeURIComponent(id)}`)
    if (answer.status === 404) return 'gone'
    if (answer.status >= 200 && answer.status < 300) return 'deleted'
    throw unexpected('DELETE zoom_oauth_connections/<id>', answer.status, answer.body)
  }
}
