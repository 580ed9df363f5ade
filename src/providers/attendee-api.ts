import { listAll, unexpected } from './paginate.js'
import { ScopedApi } from './scoped-api.js'

/** An Attendee Zoom OAuth connection (the fields the relay shows; tokens are never returned). */
export interface AttendeeConnection {
  id: string
  zoom_oauth_app_id?: string
  zoom_user_id?: string
  zoom_account_id?: string
  state?: string
  created_at?: string
  [field: string]: unknown
}

const CONNECTIONS = '/api/v1/zoom_oauth_connections'

/** Attendee's Zoom OAuth Connections API, scoped to one Attendee Zoom OAuth app (`zoa_…`). */
export class AttendeeApi extends ScopedApi {
  /** Exchanges the authorization code (Attendee talks to Zoom itself). */
  async createConnection (code: { code: string, redirectUri: string }, flags: { isLocalRecordingTokenSupported: boolean, isOnbehalfTokenSupported: boolean }): Promise<AttendeeConnection> {
    const answer = await this.client.request('POST', CONNECTIONS, {
      json: {
        zoom_oauth_app_id: this.appId,
        authorization_code: code.code,
        redirect_uri: code.redirectUri,
        is_local_recording_token_supported: flags.isLocalRecordingTokenSupported,
        is_onbehalf_token_supported: flags.isOnbehalfTokenSupported
      }
    })
    if (answer.status === 200 || answer.status === 201) return answer.body as AttendeeConnection
    throw unexpected('POST zoom_oauth_connections', answer.status, answer.body)
  }

  /** This app's connections, optionally of one Zoom user or account (filtered here: the API lists all). */
  async listConnections (filters: { zoom_user_id?: string, zoom_account_id?: string } = {}): Promise<AttendeeConnection[]> {
    const all = await listAll<AttendeeConnection>(this.client, CONNECTIONS, {})
    return all.filter(c =>
      (c.zoom_oauth_app_id === undefined || c.zoom_oauth_app_id === this.appId) &&
      (filters.zoom_user_id === undefined || c.zoom_user_id === filters.zoom_user_id) &&
      (filters.zoom_account_id === undefined || c.zoom_account_id === filters.zoom_account_id))
  }

  async getConnection (id: string): Promise<AttendeeConnection | undefined> {
    const answer = await this.client.request('GET', `${CONNECTIONS}/${encodeURIComponent(id)}`)
    if (answer.status === 404) return undefined
    if (answer.status !== 200) throw unexpected('GET zoom_oauth_connections/<id>', answer.status, answer.body)
    return answer.body as AttendeeConnection
  }

  async deleteConnection (id: string): Promise<'deleted' | 'gone'> {
    const answer = await this.client.request('DELETE', `${CONNECTIONS}/${encodeURIComponent(id)}`)
    if (answer.status === 404) return 'gone'
    if (answer.status >= 200 && answer.status < 300) return 'deleted'
    throw unexpected('DELETE zoom_oauth_connections/<id>', answer.status, answer.body)
  }
}
