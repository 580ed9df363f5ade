import { RelayError } from '../errors.js'

/** Exit codes scripts can rely on (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  /** An API or Redis call failed. */
  failed: 1,
  /** `show` of an id that does not exist. */
  notFound: 3,
  usage: 64,
  config: 78
} as const

/** Ends a command with a message on stderr and a given exit code. */
export class CliError extends RelayError {
  readonly exitCode: number

  constructor (message: string, exitCode: number) {
    super('ZR_CLI', message)
    this.exitCode = exitCode
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage)
