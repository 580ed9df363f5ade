import { parseArgs } from 'node:util'
import { EventQueryError, ReplayRefusedError, UnknownDestinationError, UnknownEventError } from '../../errors.js'
import type { EventDetail } from '../../history/event-detail.js'
import type { DeliveryStateName } from '../../store/delivery-record.js'
import { DELIVERY_STATES, type EventFilters } from '../../history/event-filters.js'
import { EventHistory } from '../../history/event-history.js'
import { REPLAY_MAX_EVENTS } from '../../history/event-replay.js'
import type { EventSummary } from '../../history/event-view.js'
import { CliError, EXIT, usageError } from '../cli-error.js'
import { formatRows } from '../output.js'
import type { ConfigLoader } from './command.js'
import { FILTER_OPTIONS, FILTER_USAGE, readFilters } from './filter-options.js'
import { openRelayQueues } from './relay-connection.js'

const MAX = REPLAY_MAX_EVENTS.toLocaleString('en-US')

export const EVENTS_USAGE = `Usage: zoom-relay events <list|show|replay> [options]

Every accepted event (kept for EVENT_RETENTION_SECONDS), with each destination's state:
pending, retrying, delivered, dead, filtered (its events filter excludes it), paused (waiting on a paused destination).

  list [filters]                          newest first, a page at a time; prints the --cursor of the next page
  show <id>                               one event: headers, body size and SHA-256, each destination's record
                                          and every attempt
  replay <id>... --destination NAME       send again to that one destination: the original bytes, Zoom's headers
  replay [filters] --destination NAME     every event the filters match (at most ${MAX} per replay)

Filters (all given must match):
${FILTER_USAGE}
  --event also takes a prefix pattern, as destination filters do: meeting.*
  --state ${DELIVERY_STATES.join('|')}   (with --destination: that destination's state)
  --limit N              (list) events per page, 1 to 1000 (default 50)
  --cursor C             (list) the next page, as the previous page printed it (same filters)

Options:
  --destination NAME     (list) a filter; (replay) where to send: a destination of the event's app, even one added
                         since the event (a backfill)
  --dry-run              (replay) show what would be sent, send nothing
  --force                (replay) send even events the destination's events filter excludes
  --json                 JSON instead of a table
  -h, --help

Ids read <app>/<ms>-<seq>, as list prints them. A replay is checked as a whole and refused with nothing sent
when an event is unknown, its body is no longer kept, the destination is not one of its app's, the destination's
filter excludes it (without --force), or a filter selects more than ${MAX} events (narrow it with --since/--until).
A replay is a new delivery through the destination's retry queue; it is allowed for delivered events too and
counted in the event's record.

Exit codes: 0 done, 1 Redis unreachable or a body no longer kept, 3 no such event, app or destination,
64 bad usage (or a replay refused for its destination, filter or size), 78 bad configuration.`

const LIST_COLUMNS = ['id', 'receivedAt', 'event', 'meeting', 'states']
const REPLAY_COLUMNS = ['id', 'receivedAt', 'event', 'previousState', 'jobId']
const ATTEMPT_COLUMNS = ['at', 'status', 'durationMs', 'replay', 'error']

export async function eventsCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      state: { type: 'string' },
      cursor: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false }
    }
  })
  if (values.help) { out(`${EVENTS_USAGE}\n`); return EXIT.ok }
  const [action, ...ids] = positionals
  if (action !== 'list' && action !== 'show' && action !== 'replay') throw usageError(`unknown action "${action ?? ''}"; use list, show or replay.`)
  const { limit, ...shared } = readFilters(values)
  if (values.state !== undefined && !DELIVERY_STATES.includes(values.state as DeliveryStateName)) throw usageError(`--state must be one of ${DELIVERY_STATES.join(', ')}, not "${values.state}".`)
  const filters: EventFilters = { ...shared, state: values.state as DeliveryStateName | undefined }
  if (action === 'list' && ids.length > 0) throw usageError('list takes filters, not ids (show <id> shows one).')
  if (action === 'show' && ids.length !== 1) throw usageError('show takes one event id: zoom-relay events show <app>/<ms>-<seq>.')
  if (action === 'replay') {
    if (values.destination === undefined) throw usageError('replay needs --destination NAME: a replay goes to one destination.')
    if (ids.length > 0 && Object.entries(filters).some(([k, v]) => k !== 'destination' && v !== undefined)) throw usageError('replay takes ids or filters, not both.')
    if (ids.length === 0 && Object.entries(filters).every(([k, v]) => k === 'destination' || v === undefined)) {
      throw usageError('replay needs event ids, or filters that choose the events (--since, --event, --meeting, …): it never means every event.')
    }
    if (limit !== undefined || values.cursor !== undefined) throw usageError('--limit and --cursor are for list; a replay by filter takes every match.')
  }
  // Redis and the app and destination names: no Zoom secrets needed.
  const config = load('partial')
  const { redis, queues, close } = await openRelayQueues(config)
  try {
    const history = new EventHistory(config, redis, queues)
    if (action === 'list') {
      const page = await history.list(filters, { limit, cursor: values.cursor })
      if (values.json) out(`${JSON.stringify(page, null, 2)}\n`)
      else {
        out(formatRows(page.events.map(listRow), LIST_COLUMNS, false))
        if (page.cursor !== null) out(`more (${page.examined} examined): --cursor ${page.cursor}\n`)
      }
      return EXIT.ok
    }
    if (action === 'show') {
      const detail = await history.get(ids[0] as string)
      out(values.json ? `${JSON.stringify(detail, null, 2)}\n` : describe(detail))
      return EXIT.ok
    }
    // The replay's destination is its own option, never a filter of which events.
    const { destination, ...selecting } = filters
    const result = await history.replay(ids.length > 0 ? { ids } : { filters: selecting }, destination as string, { dryRun: values['dry-run'], force: values.force })
    if (values.json) out(`${JSON.stringify(result, null, 2)}\n`)
    else {
      out(formatRows(result.events, REPLAY_COLUMNS, false))
      out(`${result.dryRun ? 'would replay' : 'replayed'} ${result.replayed} to ${result.destination}${result.skipped.length > 0 ? `; skipped (body removed meanwhile): ${result.skipped.join(', ')}` : ''}\n`)
    }
    return EXIT.ok
  } catch (err) {
    throw asCliError(err)
  } finally {
    await close()
  }
}

/** The history's refusals as exit codes: not found 3, a body gone 1, everything else the caller can fix 64. */
function asCliError (err: unknown): unknown {
  if (err instanceof UnknownEventError || err instanceof UnknownDestinationError) return new CliError(err.message, EXIT.notFound)
  if (err instanceof ReplayRefusedError) return new CliError(err.message, err.reason === 'body_gone' ? EXIT.failed : EXIT.usage)
  if (err instanceof EventQueryError) return usageError(err.message)
  return err
}

function listRow (event: EventSummary): Record<string, unknown> {
  return { ...event, meeting: event.meeting ?? event.uuid, states: event.destinations.map(d => `${d.destination}:${d.state ?? '?'}`).join(' ') }
}

/** `events show` for people: the event, then each destination with every attempt. */
function describe (detail: EventDetail): string {
  const lines = [
    `id           ${detail.id}`,
    `event        ${detail.event}`,
    `received at  ${detail.receivedAt}`,
    `meeting      ${detail.meeting ?? '-'}${detail.uuid === null ? '' : ` (uuid ${detail.uuid})`}`,
    `account      ${detail.account ?? '-'}`,
    `body         ${detail.body.kept ? `${detail.body.bytes} bytes, sha256 ${detail.body.sha256}` : detail.body.note}`,
    `headers      ${Object.entries(detail.headers).map(([k, v]) => `${k}: ${v}`).join('\n             ')}`,
    `unsettled    ${detail.unsettled}`
  ]
  for (const d of detail.destinations) {
    lines.push('', `${d.destination}: ${d.state ?? 'record no longer kept'} — ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}, ${d.replays} replay${d.replays === 1 ? '' : 's'}` +
      `${d.lastStatus === null ? '' : `, last status ${d.lastStatus}`}${d.deliveredAt === null ? '' : `, delivered ${d.deliveredAt}`}${d.deadLetterReason === null ? '' : `, dead letter: ${d.deadLetterReason}`}`)
    if (d.lastError !== null) lines.push(`  last error: ${d.lastError}`)
    if (d.attemptLog.length > 0) lines.push(formatRows(d.attemptLog, ATTEMPT_COLUMNS, false).trimEnd().replace(/^/gm, '  '))
  }
  return `${lines.join('\n')}\n`
}
