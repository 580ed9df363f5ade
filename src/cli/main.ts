#!/usr/bin/env node
import type { Role } from '../config/config.js'
import { loadConfig } from '../config/load-config.js'
import { ConfigError } from '../errors.js'
import { createLogger } from '../logger.js'
import { runRelay } from './run-relay.js'

const USAGE = `Usage: zoom-relay [web|worker|all]

Relays Zoom webhooks, byte for byte, to Recall.ai and other destinations.

Roles:
  all     webhook server and relay workers in one process (default; what npm start runs)
  web     webhook server only: verifies, stores in Redis, answers Zoom
  worker  relay workers only: deliver stored events with retries

Configuration comes from environment variables; see README.md.
Exit codes: 0 stopped cleanly, 1 failed at run time, 64 bad usage, 78 bad configuration.`

const ROLES: readonly Role[] = ['web', 'worker', 'all']

async function main (argv: string[]): Promise<number> {
  const [command = 'all', ...rest] = argv
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (!ROLES.includes(command as Role) || rest.length > 0) {
    process.stderr.write(`zoom-relay: unknown command "${argv.join(' ')}"\n\n${USAGE}\n`)
    return 64
  }

  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`zoom-relay: ${err.message}\n`)
    return 78
  }

  const logger = createLogger(config.logLevel)
  const relay = await runRelay(command as Role, config, logger)
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  logger.info({ signal }, 'shutting down: finishing in-flight work')
  await relay.close()
  logger.info('stopped')
  return 0
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`zoom-relay: ${err instanceof Error ? (err as Error & { code?: string }).code ?? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
