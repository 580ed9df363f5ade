import type { ProviderApiConfig } from '../config/config.js'
import { ProviderApiClient } from './provider-api-client.js'

/** A provider API bound to one Zoom OAuth app there (Recall's app id, Attendee's `zoa_…`). */
export abstract class ScopedApi {
  readonly appId: string
  protected readonly client: ProviderApiClient

  constructor (api: ProviderApiConfig, opts: { timeoutMs: number, retries: number }) {
    this.appId = api.appId
    this.client = new ProviderApiClient({ baseUrl: api.baseUrl, apiKey: api.apiKey, ...opts })
  }

  async close (): Promise<void> {
    await this.client.close()
  }
}
