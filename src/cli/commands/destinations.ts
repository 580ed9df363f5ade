import { parseArgs } from 'node:util'
import { UnknownDestinationError } from '../../errors.js'
import { DestinationControl } from '../../operations/destination-control.js'
import type { DestinationStateRow } from '../../relay/destination-state.js'
import { CliError, EXIT, usageError } from '../cli-error.js'
import { formatRows } from '../output.js'
import type { ConfigLoader } from './command.js'
import { openRelayQueues } from './relay-connection.js'

export const DESTINATIONS_USAGE = `Usage: zoom-relay destinations <list|pause|resume> [--app NAME] [--destination NAME] [--json]

Each destination's state, shared by every worker process through Redis:
  closed     delivering
  open       circuit open after consecutive failed attempts: events wait, one probe at growing intervals
  half_open  a probe is in flight
  paused     paused by an operator

  list       show every destination (or the selected ones) with its state
  pause      stop sending to the selected destinations within a second: events are still stored and wait,
             no attempt is used, and time paused never expires an event
  resume     send what waited, oldest first

Options:
  --app NAME            only this app's destinations
  --destination NAME    only destinations of this name
  --json                JSON instead of a table
  -h, --help

pause and resume need --app or --destination (or both); they apply to every match.

Exit codes: 0 done, 1 Redis unreachable, 3 no such app or destination, 64 bad usage, 78 bad configuration.`

const COLUMNS = ['app', 'destination', 'state', 'failures', 'openedAt', 'nextProbeAt', 'pausedAt']

export async function destinationsCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      app: { type: 'string' },
      destination: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { out(`${DESTINATIONS_USAGE}\n`); return EXIT.ok }
  const [action, ...extra] = positionals
  if (action !== 'list' && action !== 'pause' && action !== 'resume') throw usageError(`unknown action "${action ?? ''}"; use list, pause or resume.`)
  if (extra.length > 0) throw usageError(`unexpected "${extra.join(' ')}"; select destinations with --app and --destination.`)
  if (action !== 'list' && values.app === undefined && values.destination === undefined) throw usageError(`${action} needs --app and/or --destination (it applies to every match).`)
  const selector = { app: values.app, destination: values.destination }
  // Redis and the app and destination names: no Zoom secrets needed.
  const config = load('partial')

  const { redis, close } = await openRelayQueues(config)
  try {
    const control = new DestinationControl(config, redis)
    const rows = action === 'list' ? await control.list(selector) : action === 'pause' ? await control.pause(selector) : await control.resume(selector)
    if (values.json) out(`${JSON.stringify(rows.map(toJson), null, 2)}\n`)
    else out(formatRows(rows.map(toJson), COLUMNS, false))
    return EXIT.ok
  } catch (err) {
    if (err instanceof UnknownDestinationError) throw new CliError(err.message, EXIT.notFound)
    throw err
  } finally {
    await close()
  }
}

/** Times as ISO strings (null when unset), for people and scripts alike. */
function toJson (row: DestinationStateRow): Record<string, unknown> {
  const iso = (ms: number | undefined): string | null => ms === undefined ? null : new Date(ms).toISOString()
  return {
    app: row.app,
    destination: row.destination,
    state: row.state,
    paused: row.paused,
    circuit: row.circuit,
    failures: row.failures,
    openedAt: iso(row.openedAt),
    nextProbeAt: iso(row.nextProbeAt),
    probeIntervalMs: row.probeIntervalMs ?? null,
    pausedAt: row.paused ? iso(row.pausedAt) : null
  }
}
