import type { Role } from '../config/config.js'
import { ConfigError, ProviderApiError } from '../errors.js'
import { createLogger } from '../logger.js'
import { packageVersion } from '../package-file.js'
import { CliError, EXIT } from './cli-error.js'
import { configLoader, type Command, type ConfigLoader } from './commands/command.js'
import { configCheckCommand } from './commands/config-check.js'
import { deadLettersCommand } from './commands/dead-letters.js'
import { destinationsCommand } from './commands/destinations.js'
import { eventsCommand } from './commands/events.js'
import { ATTENDEE_CONNECTIONS, RECALL_CREDENTIALS, runProviderRecords } from './commands/provider-records.js'
import { sendTestEventCommand } from './commands/send-test-event.js'
import { statusCommand } from './commands/status.js'

const USAGE = `Usage: zoom-relay [web|worker|all]
       zoom-relay config check [--json]
       zoom-relay status [--json]
       zoom-relay dead-letters <list|replay|purge> [filters] [options]
       zoom-relay destinations <list|pause|resume> [--app NAME] [--destination NAME] [--json]
       zoom-relay events <list|show|replay> [filters | <id>...] [--destination NAME] [--dry-run] [--json]
       zoom-relay send-test-event [--url URL] [--app NAME] [--event NAME | --validate] [--follow] [--json]
       zoom-relay recall credentials <list|show|delete> [options]
       zoom-relay attendee connections <list|show|delete> [options]
       zoom-relay --version

Relays Zoom webhooks, byte for byte, to Recall.ai and other destinations.

Roles:
  all     webhook server and relay workers in one process (default; what npm start runs)
  web     webhook server only: verifies, stores in Redis, answers Zoom
  worker  relay workers only: deliver stored events with retries

Configuration:
  config check           load the configuration as the relay would and show it (secrets masked)

Operator commands (read the relay's Redis and the app names, not the Zoom secrets; --help on each):
  status                 queues, dead letters, last delivery and last URL validation per app and destination
  dead-letters           list, replay or purge what destinations rejected or ran out of attempts
  destinations           list destinations with their state (circuit, paused); pause or resume them
  events                 what happened to an event: search the history, show one with every attempt, replay
  send-test-event        send a signed sample webhook to a running relay; --follow waits for its delivery

Support commands (need only the chosen destination and its API key; --help on each):
  recall credentials     Recall Zoom OAuth Credentials
  attendee connections   Attendee Zoom OAuth connections

Configuration comes from environment variables and CONFIG_FILE (format: schema/apps.schema.json); see README.md.
--help and --version need no configuration.
Exit codes: 0 done, 1 failed at run time, 3 not found, 64 bad usage, 78 bad configuration.`

const ROLES: readonly Role[] = ['web', 'worker', 'all']

/**
 * Past SHUTDOWN_TIMEOUT_MS, what closing may still take: dropping worker
 * connections, flushing figures, QUIT (each bounded to 2 s). A stop that
 * takes longer than both is cut short.
 */
const SHUTDOWN_GRACE_MS = 10_000

/**
 * Commands other than the roles: `<group> <noun>` → handler. Each loads the
 * configuration itself, after its own `--help`, as much as it needs.
 */
const COMMANDS: Record<string, Command> = {
  'config check': configCheckCommand,
  status: statusCommand,
  'dead-letters': deadLettersCommand,
  destinations: destinationsCommand,
  events: eventsCommand,
  'send-test-event': sendTestEventCommand,
  'recall credentials': async (args, load, out) => await runProviderRecords(RECALL_CREDENTIALS, args, load, out),
  'attendee connections': async (args, load, out) => await runProviderRecords(ATTENDEE_CONNECTIONS, args, load, out)
}

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h' || arg === 'help'

/** Where the CLI reads its configuration and writes its output (the process's own, or a test's). */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>
  stdout: (text: string) => void
  stderr: (text: string) => void
}

/** `zoom-relay <argv>`: resolves to the exit code (a role resolves when the relay has stopped). */
export async function zoomRelay (argv: string[], io: CliIo): Promise<number> {
  const [command = 'all', ...rest] = argv
  if (isHelp(command)) {
    io.stdout(`${USAGE}\n`)
    return EXIT.ok
  }
  if (command === '--version' || command === '-v') {
    io.stdout(`${packageVersion()}\n`)
    return EXIT.ok
  }
  // One-word commands (`status`, `dead-letters`) and two-word ones (`recall credentials`).
  const twoWords = COMMANDS[`${command} ${rest[0] ?? ''}`]
  const subcommand = twoWords ?? COMMANDS[command]
  const group = Object.keys(COMMANDS).some(name => name.startsWith(`${command} `))
  // `zoom-relay web --help`, `zoom-relay recall --help`: the overview.
  if (subcommand === undefined && (ROLES.includes(command as Role) || group) && rest.length === 1 && isHelp(rest[0])) {
    io.stdout(`${USAGE}\n`)
    return EXIT.ok
  }
  if (subcommand === undefined && (!ROLES.includes(command as Role) || rest.length > 0)) {
    io.stderr(`zoom-relay: unknown command "${argv.join(' ')}"\n\n${USAGE}\n`)
    return EXIT.usage
  }

  const load = configLoader(io.env)
  if (subcommand !== undefined) return await runCommand(subcommand, twoWords === undefined ? rest : rest.slice(1), load, io)

  let config
  try {
    config = load('full')
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr(`zoom-relay: ${err.message}\n`)
    return EXIT.config
  }
  const logger = createLogger(config.logLevel)
  // Loaded only to run the relay: --help, --version and the commands start without the servers' modules.
  const { runRelay } = await import('./run-relay.js')
  const relay = await runRelay(command as Role, config, logger)
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  logger.info({ signal }, 'shutting down: finishing in-flight work')
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

async function runCommand (command: Command, args: string[], load: ConfigLoader, io: CliIo): Promise<number> {
  try {
    return await command(args, load, io.stdout)
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`zoom-relay: ${err.message}\n`)
      return EXIT.config
    }
    if (err instanceof CliError) {
      io.stderr(`zoom-relay: ${err.message}\n`)
      return err.exitCode
    }
    // node:util parseArgs: unknown option, missing value…
    if ((err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr(`zoom-relay: ${(err as Error).message}\n`)
      return EXIT.usage
    }
    if (err instanceof ProviderApiError) {
      io.stderr(`zoom-relay: ${err.message}\n`)
      return EXIT.failed
    }
    throw err
  }
}

