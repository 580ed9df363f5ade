import { createInterface } from 'node:readline/promises'
import { parseArgs } from 'node:util'
import { DeadLetters, isUnfiltered, type DeadLetter, type DeadLetterFilters } from '../../operations/dead-letters.js'
import { EXIT, usageError } from '../cli-error.js'
import { formatRows } from '../output.js'
import type { ConfigLoader } from './command.js'
import { FILTER_OPTIONS, FILTER_USAGE, readFilters, wholeNumber } from './filter-options.js'
import { openRelayQueues } from './relay-connection.js'

export const DEAD_LETTERS_USAGE = `Usage: zoom-relay dead-letters <list|replay|purge> [filters] [options]

Events a destination rejected, that ran out of attempts, or that expired while its circuit was open (BullMQ's failed sets).

  list                   show them (newest first)
  replay [<id>...]       send them again: original bytes and headers, fresh attempts, normal retry path
  purge                  delete them (asks first unless --yes)

replay and purge need a filter (or ids), or --all to mean every dead letter of every queue.

Filters (all given must match):
${FILTER_USAGE}
  --status <last HTTP status>
  --limit N              at most N, newest first

Options:
  --json                 JSON instead of a table
  --dry-run              (replay) show what would be sent, send nothing
  --all                  (replay, purge) every dead letter: needed when no filter is given
  --yes                  (purge) do not ask
  -h, --help

Exit codes: 0 done, 1 Redis unreachable, 64 bad usage (replay or purge without a filter or --all, purge without --yes when
not interactive), 78 bad configuration.`

const COLUMNS = ['id', 'app', 'destination', 'event', 'meeting', 'receivedAt', 'attempts', 'lastStatus', 'lastError']

export async function deadLettersCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      status: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false }
    }
  })
  if (values.help) { out(`${DEAD_LETTERS_USAGE}\n`); return EXIT.ok }
  const [action, ...ids] = positionals
  if (action !== 'list' && action !== 'replay' && action !== 'purge') throw usageError(`unknown action "${action ?? ''}"; use list, replay or purge.`)
  if (ids.length > 0 && action !== 'replay') throw usageError(`${action} takes filters, not ids.`)
  const filters: DeadLetterFilters = {
    ...readFilters(values),
    status: values.status === undefined ? undefined : wholeNumber('--status', values.status),
    ids: ids.length > 0 ? ids : undefined
  }
  if (action !== 'list' && !values.all && !(action === 'replay' && values['dry-run']) && isUnfiltered(filters)) {
    throw usageError(`${action} without a filter would ${action} every dead letter of every queue. Add filters (--app, --destination, --status, --since, …) or ids, or pass --all to mean it.`)
  }
  // Redis and the app and destination names: no Zoom secrets needed.
  const config = load('partial')
  const unknownApp = filters.app !== undefined && !config.apps.some(a => a.name === filters.app)
  if (unknownApp) throw usageError(`--app ${filters.app ?? ''}: no such app (configured: ${config.apps.map(a => a.name).join(', ')}).`)

  const { queues, close } = await openRelayQueues(config)
  try {
    const deadLetters = new DeadLetters(queues)
    const show = (rows: DeadLetter[]): void => {
      out(formatRows(values.json ? rows : rows.map(r => ({ ...r, lastError: r.lastError.slice(0, 60) })), COLUMNS, values.json))
    }
    if (action === 'list') {
      show(await deadLetters.list(filters))
      return EXIT.ok
    }
    if (action === 'replay') {
      const replayed = await deadLetters.replay(filters, { dryRun: values['dry-run'], all: values.all })
      if (values.json) out(`${JSON.stringify({ dryRun: values['dry-run'], replayed: replayed.length, jobs: replayed }, null, 2)}\n`)
      else { show(replayed); out(`${values['dry-run'] ? 'would replay' : 'replayed'} ${replayed.length}\n`) }
      return EXIT.ok
    }
    const matching = await deadLetters.list(filters)
    if (matching.length > 0 && !values.yes && !await confirm(`Purge ${matching.length} dead letter${matching.length === 1 ? '' : 's'}? [y/N] `)) {
      out('nothing purged\n')
      return EXIT.ok
    }
    // The same filters, applied again: what was shown is what is deleted (plus any that failed since).
    const purged = await deadLetters.purge(filters, { all: values.all })
    if (values.json) out(`${JSON.stringify({ purged: purged.length }, null, 2)}\n`)
    else out(`purged ${purged.length}\n`)
    return EXIT.ok
  } finally {
    await close()
  }
}

async function confirm (question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true) throw usageError('purge asks for confirmation; pass --yes when not at a terminal.')
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim())
  } finally {
    rl.close()
  }
}
