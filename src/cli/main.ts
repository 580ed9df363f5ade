#!/usr/bin/env node
import type { Config, Role } from '../config/config.js'
import { loadConfig } from '../config/load-config.js'
import { ConfigError, ProviderApiError } from '../errors.js'
import { createLogger } from '../logger.js'
import { CliError, EXIT } from './cli-error.js'
import { deadLettersCommand } from './commands/dead-letters.js'
import { ATTENDEE_CONNECTIONS, RECALL_CREDENTIALS, runProviderRecords } from './commands/provider-records.js'
import { statusCommand } from './commands/status.js'
import { runRelay } from './run-relay.js'

const USAGE = `Usage: zoom-relay [web|worker|all]
       zoom-relay status [--json]
       zoom-relay dead-letters <list|replay|purge> [filters] [options]
       zoom-relay recall credentials <list|show|delete> [options]
       zoom-relay attendee connections <list|show|delete> [options]

Relays Zoom webhooks, byte for byte, to Recall.ai and other destinations.

Roles:
  all     webhook server and relay workers in one process (default; what npm start runs)
  web     webhook server only: verifies, stores in Redis, answers Zoom
  worker  relay workers only: deliver stored events with retries

Operator commands (read the relay's Redis; --help on each):
  status                 queues, dead letters, last delivery and last URL validation per app and destination
  dead-letters           list, replay or purge what destinations rejected or ran out of attempts

Support commands (use the app's configured API key; --help on each):
  recall credentials     Recall Zoom OAuth Credentials
  attendee connections   Attendee Zoom OAuth connections

Configuration comes from environment variables; see README.md.
Exit codes: 0 done, 1 failed at run time, 3 not found, 64 bad usage, 78 bad configuration.`

/**
 * Past SHUTDOWN_TIMEOUT_MS, what closing may still take: dropping worker
 * connections, flushing figures, QUIT (each bounded to 2 s). A stop that
 * takes longer than both is cut short.
 */
const SHUTDOWN_GRACE_MS = 10_000

const ROLES: readonly Role[] = ['web', 'worker', 'all']

/** Commands other than the roles: `<group> <noun>` → handler. */
const COMMANDS: Record<string, (args: string[], config: Config, out: (text: string) => void) => Promise<number>> = {
  status: statusCommand,
  'dead-letters': deadLettersCommand,
  'recall credentials': async (args, config, out) => await runProviderRecords(RECALL_CREDENTIALS, args, config, out),
  'attendee connections': async (args, config, out) => await runProviderRecords(ATTENDEE_CONNECTIONS, args, config, out)
}

async function main (argv: string[]): Promise<number> {
  const [command = 'all', ...rest] = argv
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  // One-word commands (`status`, `dead-letters`) and two-word ones (`recall credentials`).
  const twoWords = COMMANDS[`${command} ${rest[0] ?? ''}`]
  const subcommand = twoWords ?? COMMANDS[command]
  if (subcommand === undefined && (!ROLES.includes(command as Role) || rest.length > 0)) {
    process.stderr.write(`zoom-relay: unknown command "${argv.join(' ')}"\n\n${USAGE}\n`)
    return EXIT.usage
  }

  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`zoom-relay: ${err.message}\n`)
    return EXIT.config
  }
  if (subcommand !== undefined) return await runCommand(subcommand, twoWords === undefined ? rest : rest.slice(1), config)

  const logger = createLogger(config.logLevel)
  const relay = await runRelay(command as Role, config, logger)
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  logger.info({ signal }, 'shutting down: finishing in-flight work')
  // Whatever Redis does, a stop ends the process: under docker or systemd a hung stop waits for SIGKILL.
  const deadlineMs = config.shutdownTimeoutMs + SHUTDOWN_GRACE_MS
  setTimeout(() => {
    logger.error({ deadlineMs }, 'shutdown did not finish in time; exiting anyway (what was in flight is retried)')
    process.exit(EXIT.failed)
  }, deadlineMs).unref()
  await relay.close()
  logger.info('stopped')
  // A connection a library still holds (BullMQ's own, reconnecting to a Redis that is away) must not keep it alive.
  setTimeout(() => { process.exit(EXIT.ok) }, 100).unref()
  return EXIT.ok
}

async function runCommand (command: (typeof COMMANDS)[string], args: string[], config: Config): Promise<number> {
  try {
    return await command(args, config, text => process.stdout.write(text))
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`zoom-relay: ${err.message}\n`)
      return err.exitCode
    }
    // node:util parseArgs: unknown option, missing value…
    if ((err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS') === true) {
      process.stderr.write(`zoom-relay: ${(err as Error).message}\n`)
      return EXIT.usage
    }
    if (err instanceof ProviderApiError) {
      process.stderr.write(`zoom-relay: ${err.message}\n`)
      return EXIT.failed
    }
    throw err
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`zoom-relay: ${err instanceof Error ? (err as Error & { code?: string }).code ?? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = EXIT.failed
})
