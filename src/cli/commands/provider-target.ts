import type { AppConfig, Config, DestinationConfig } from '../../config/config.js'
import { usageError } from '../cli-error.js'

/**
 * The app and destination a provider command works on: `--app` and
 * `--destination` when given, else the only destination of that kind with an
 * `apiKey` in the whole configuration.
 */
export function providerTarget (config: Config, kind: 'recall' | 'attendee', app?: string, destination?: string): { app: AppConfig, destination: DestinationConfig } {
  const candidates = config.apps.flatMap(a => a.destinations
    .filter(d => d.kind === kind && d.api !== undefined)
    .filter(d => (app === undefined || a.name === app) && (destination === undefined || d.name === destination))
    .map(d => ({ app: a, destination: d })))
  const [only] = candidates
  if (candidates.length === 1 && only !== undefined) return only
  const key = kind === 'recall' ? 'RECALL_API_KEY (or apiKey in CONFIG_FILE)' : 'apiKey on an attendee destination in CONFIG_FILE'
  if (candidates.length === 0) throw usageError(`no ${kind} destination with an API key matches${app === undefined ? '' : ` --app ${app}`}${destination === undefined ? '' : ` --destination ${destination}`}; set ${key}.`)
  throw usageError(`several ${kind} destinations have an API key (${candidates.map(c => `${c.app.name}/${c.destination.name}`).join(', ')}); choose one with --app (and --destination).`)
}
