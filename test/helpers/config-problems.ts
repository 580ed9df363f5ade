import { ConfigError } from '../../src/errors.js'

/**
 * The problems of the ConfigError that `load` throws; `[]` when it loads, or a
 * thrown Error with `mustFail` (the test then fails instead of checking nothing).
 * Other errors pass through.
 */
export function configProblems (load: () => unknown, opts: { mustFail?: boolean } = {}): string[] {
  try {
    load()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return [...err.problems]
  }
  if (opts.mustFail === true) throw new Error('the configuration was accepted')
  return []
}
