import type { AppConfig, DestinationConfig } from '../config/config.js'
import { AttendeeApi } from './attendee-api.js'
import { RecallApi } from './recall-api.js'

/** One API client per app destination with an `apiKey`, made on first use and closed together. */
export class ProviderApis {
  private readonly clients = new Map<string, RecallApi | AttendeeApi>()
  private readonly opts: { timeoutMs: number, retries: number }

  constructor (opts: { timeoutMs: number, retries: number }) {
    this.opts = opts
  }

  recall (app: AppConfig, destination: DestinationConfig): RecallApi {
    return this.get(app, destination, 'recall', api => new RecallApi(api, this.opts)) as RecallApi
  }

  attendee (app: AppConfig, destination: DestinationConfig): AttendeeApi {
    return this.get(app, destination, 'attendee', api => new AttendeeApi(api, this.opts)) as AttendeeApi
  }

  async close (): Promise<void> {
    await Promise.all([...this.clients.values()].map(async c => await c.close()))
    this.clients.clear()
  }

  private get (app: AppConfig, destination: DestinationConfig, kind: DestinationConfig['kind'], create: (api: NonNullable<DestinationConfig['api']>) => RecallApi | AttendeeApi): RecallApi | AttendeeApi {
    if (destination.kind !== kind || destination.api === undefined) {
      throw new Error(`${app.name}/${destination.name} is not a ${kind} destination with an apiKey`)
    }
    const key = `${app.name}/${destination.name}`
    let client = this.clients.get(key)
    if (client === undefined) {
      client = create(destination.api)
      this.clients.set(key, client)
    }
    return client
  }
}
