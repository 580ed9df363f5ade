import { parseArgs } from 'node:util'
import { relayStatus } from '../../operations/relay-status.js'
import { EXIT } from '../cli-error.js'
import { formatRows } from '../output.js'
import type { ConfigLoader } from './command.js'
import { openRelayQueues } from './relay-connection.js'

export const STATUS_USAGE = `Usage: zoom-relay status [--json]

Per app: the last URL validation Zoom got an answer to, and how long until Zoom's 72 h re-validation is overdue.
Per app and destination: its state (closed: delivering; open: circuit open, events wait for a probe to succeed;
half_open: probing; paused: by an operator), waiting, active, delayed and dead-lettered events, the age of the
oldest waiting one, and the last successful delivery.

Exit codes: 0 done, 1 Redis unreachable, 64 bad usage, 78 bad configuration.`

export async function statusCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } })
  if (values.help) { out(`${STATUS_USAGE}\n`); return EXIT.ok }
  // Redis and the app and destination names: no Zoom secrets needed.
  const config = load('partial')
  const { redis, queues, close } = await openRelayQueues(config)
  try {
    const status = await relayStatus(config, queues, redis)
    if (values.json) { out(`${JSON.stringify(status, null, 2)}\n`); return EXIT.ok }
    out(formatRows(status.apps.map(a => ({ ...a, revalidationDue: duration(a.revalidationDueInMs) })), ['app', 'lastUrlValidation', 'revalidationDue'], false))
    out('\n')
    out(formatRows(status.destinations.map(d => ({ ...d, oldestWaiting: duration(d.oldestWaitingMs) })), ['app', 'destination', 'state', 'waiting', 'active', 'delayed', 'deadLettered', 'oldestWaiting', 'lastDelivery'], false))
    return EXIT.ok
  } finally {
    await close()
  }
}

/** `3h 12m`, `45s`, `overdue 2h 5m`; `-` for none. */
export function duration (ms: number | null): string {
  if (ms === null) return '-'
  const abs = Math.abs(ms)
  const h = Math.floor(abs / 3_600_000)
  const m = Math.floor((abs % 3_600_000) / 60_000)
  const s = Math.floor((abs % 60_000) / 1000)
  const text = h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`
  return ms < 0 ? `overdue ${text}` : text
}
