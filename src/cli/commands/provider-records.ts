import { parseArgs } from 'node:util'
import { requireResolved } from '../../config/load-config.js'
import { ProviderApis } from '../../providers/provider-apis.js'
import { CliError, EXIT, usageError } from '../cli-error.js'
import { formatRows } from '../output.js'
import type { ConfigLoader } from './command.js'
import { providerTarget } from './provider-target.js'

type Row = Record<string, unknown>

/** The three operations a support engineer needs on one kind of provider record. */
export interface RecordOperations {
  list: (filters: { userId?: string, accountId?: string, status?: string }) => Promise<Row[]>
  get: (id: string) => Promise<Row | undefined>
  delete: (id: string) => Promise<'deleted' | 'gone'>
}

/** What differs between `recall credentials` and `attendee connections`. */
export interface ProviderRecordsCommand {
  kind: 'recall' | 'attendee'
  /** Singular, for messages: `credential`, `connection`. */
  noun: string
  usage: string
  columns: readonly string[]
  /** Whether `--status` is a filter the provider offers. */
  statusFilter: boolean
  open: (apis: ProviderApis, target: ReturnType<typeof providerTarget>) => RecordOperations
}

/** `list`, `show <id>` and `delete <id>...` against the configured app's provider API. */
export async function runProviderRecords (command: ProviderRecordsCommand, args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      app: { type: 'string' },
      destination: { type: 'string' },
      'user-id': { type: 'string' },
      'account-id': { type: 'string' },
      ...(command.statusFilter ? { status: { type: 'string' } } : {}),
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help === true) { out(`${command.usage}\n`); return EXIT.ok }
  const [action, ...ids] = positionals
  const json = values.json === true
  // Only the chosen destination and its API key are needed, not the Zoom secrets or other apps' variables.
  const config = load('partial')
  const target = providerTarget(config, command.kind, values.app as string | undefined, values.destination as string | undefined)
  requireResolved(config, target.app.name, target.destination.name)
  const apis = new ProviderApis({ timeoutMs: config.providerApiTimeoutMs, retries: config.providerApiRetries })
  const records = command.open(apis, target)
  try {
    switch (action) {
      case 'list': {
        if (ids.length > 0) throw usageError(`list takes no ids; use show <${command.noun}-id>.`)
        const rows = await records.list({ userId: values['user-id'] as string | undefined, accountId: values['account-id'] as string | undefined, status: values.status as string | undefined })
        out(formatRows(rows, command.columns, json))
        return EXIT.ok
      }
      case 'show': {
        const [id] = ids
        if (id === undefined || ids.length !== 1) throw usageError(`show takes exactly one ${command.noun} id.`)
        const record = await records.get(id)
        if (record === undefined) throw new CliError(`${command.noun} ${id} not found`, EXIT.notFound)
        out(json ? `${JSON.stringify(record, null, 2)}\n` : formatRows([record], Object.keys(record), false))
        return EXIT.ok
      }
      case 'delete': {
        if (ids.length === 0) throw usageError(`delete takes one or more ${command.noun} ids.`)
        const rows = []
        for (const id of ids) rows.push({ id, result: await records.delete(id) })
        out(formatRows(rows, ['id', 'result'], json))
        return EXIT.ok
      }
      default:
        throw usageError(`unknown action "${action ?? ''}"; use list, show or delete.`)
    }
  } finally {
    await apis.close()
  }
}

const commonOptions = (kind: string): string => `Options:
  --app NAME             app from CONFIG_FILE (default: the only one with a${kind === 'Attendee' ? 'n' : ''} ${kind} API key)
  --destination NAME     ${kind.toLowerCase()} destination of that app (default: the only one)
  --json                 JSON instead of a table
  -h, --help

Exit codes: 0 done, 1 ${kind} API failed, 3 not found (show), 64 bad usage, 78 bad configuration.`

export const RECALL_CREDENTIALS: ProviderRecordsCommand = {
  kind: 'recall',
  noun: 'credential',
  statusFilter: true,
  columns: ['id', 'status', 'account_id', 'user_id', 'created_at'],
  usage: `Usage: zoom-relay recall credentials <list|show|delete> [options]

Recall Zoom OAuth Credentials of a configured app, with that app's Recall API key.

  list                   [--user-id ID] [--account-id ID] [--status healthy|unhealthy]
  show <credential-id>
  delete <credential-id>...   (an id already gone is not an error)

${commonOptions('Recall')}`,
  open: (apis, { app, destination }) => {
    const recall = apis.recall(app, destination)
    return {
      list: async f => await recall.listCredentials({ user_id: f.userId, account_id: f.accountId, status: f.status }) as unknown as Row[],
      get: async id => await recall.getCredential(id) as unknown as Row | undefined,
      delete: async id => await recall.deleteCredential(id)
    }
  }
}

export const ATTENDEE_CONNECTIONS: ProviderRecordsCommand = {
  kind: 'attendee',
  noun: 'connection',
  statusFilter: false,
  columns: ['id', 'user_id', 'account_id', 'state', 'metadata', 'created_at'],
  usage: `Usage: zoom-relay attendee connections <list|show|delete> [options]

Attendee Zoom OAuth connections of a configured app (its zoa_… id), with that app's
Attendee API key. Attendee lists every app of the project; only this app's are shown.

  list                   [--user-id ZOOM_USER_ID] [--account-id ZOOM_ACCOUNT_ID]
  show <connection-id>
  delete <connection-id>...   (an id already gone is not an error)

${commonOptions('Attendee')}`,
  open: (apis, { app, destination }) => {
    const attendee = apis.attendee(app, destination)
    return {
      list: async f => await attendee.listConnections({ user_id: f.userId, account_id: f.accountId }),
      get: async id => await attendee.getConnection(id),
      delete: async id => await attendee.deleteConnection(id)
    }
  }
}
