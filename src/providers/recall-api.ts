import { listAll, unexpected } from './paginate.js'
import { ScopedApi } from './scoped-api.js'

/** A Recall Zoom OAuth Credential as the API returns it (the fields the relay uses). */
export interface RecallCredential {
  id: string
  oauth_app: string
  status: string
  user_id: string | null
  account_id: string | null
  created_at?: string
}

export interface CredentialFilters {
  user_id?: string
  account_id?: string
  status?: string
}

/** What Recall answers when a credential already exists for that Zoom account or user. */
export interface RecallConflict {
  accountId?: string
  userId?: string
}

const CREDENTIALS = '/api/v2/zoom-oauth-credentials/'

/** Recall's Zoom OAuth Credentials API, scoped to one Recall Zoom OAuth App. */
export class RecallApi extends ScopedApi {
  /**
   * Registers an authorization code (Recall-managed OAuth). Resolves with the
   * credential, or with the conflict Recall reports (400 with
   * `conflicting_zoom_account_id` / `conflicting_zoom_user_id`).
   */
  async createCredential (code: { code: string, redirectUri: string, codeVerifier?: string }): Promise<{ credential: RecallCredential } | { conflict: RecallConflict }> {
    const answer = await this.client.request('POST', CREDENTIALS, {
      json: {
        oauth_app: this.appId,
        authorization_code: { code: code.code, redirect_uri: code.redirectUri, ...(code.codeVerifier === undefined ? {} : { code_verifier: code.codeVerifier }) }
      }
    })
    if (answer.status === 200 || answer.status === 201) return { credential: answer.body as RecallCredential }
    const conflict = answer.body as { conflicting_zoom_account_id?: unknown, conflicting_zoom_user_id?: unknown } | undefined
    if (answer.status === 400 && typeof conflict === 'object' && conflict !== null) {
      const accountId = typeof conflict.conflicting_zoom_account_id === 'string' ? conflict.conflicting_zoom_account_id : undefined
      const userId = typeof conflict.conflicting_zoom_user_id === 'string' ? conflict.conflicting_zoom_user_id : undefined
      if (accountId !== undefined || userId !== undefined) return { conflict: { accountId, userId } }
    }
    throw unexpected('POST zoom-oauth-credentials', answer.status, answer.body)
  }

  /** This app's credentials matching the filters (every page). */
  async listCredentials (filters: CredentialFilters = {}): Promise<RecallCredential[]> {
    const credentials = await listAll<RecallCredential>(this.client, CREDENTIALS, { oauth_app: this.appId, ...filters })
    // Filter again locally: an API that ignored a filter must never widen a delete.
    return credentials.filter(c =>
      (c.oauth_app === undefined || c.oauth_app === this.appId) &&
      (filters.user_id === undefined || c.user_id === filters.user_id) &&
      (filters.account_id === undefined || c.account_id === filters.account_id) &&
      (filters.status === undefined || c.status === filters.status))
  }

  async getCredential (id: string): Promise<RecallCredential | undefined> {
    const answer = await this.client.request('GET', `${CREDENTIALS}${encodeURIComponent(id)}/`)
    if (answer.status === 404) return undefined
    if (answer.status !== 200) throw unexpected('GET zoom-oauth-credentials/<id>', answer.status, answer.body)
    return answer.body as RecallCredential
  }

  /** `deleted`, or `gone` when it no longer existed (deleting is idempotent). */
  async deleteCredential (id: string): Promise<'deleted' | 'gone'> {
    const answer = await this.client.request('DELETE', `${CREDENTIALS}${encodeURIComponent(id)}/`)
    if (answer.status === 404) return 'gone'
    if (answer.status >= 200 && answer.status < 300) return 'deleted'
    throw unexpected('DELETE zoom-oauth-credentials/<id>', answer.status, answer.body)
  }
}
