import type { Config } from '../../config/config.js'
import { configFilePath, loadConfig, type LoadMode } from '../../config/load-config.js'

/**
 * Loads the configuration when a command needs it (after `--help`), as much
 * as it needs: `full` for what the relay runs, `partial` for what operator and
 * support commands use (see `LoadMode`). Throws `ConfigError` (exit 78).
 */
export interface ConfigLoader {
  (mode: LoadMode): Config
  /** `CONFIG_FILE` as an absolute path, when set. */
  configFile: () => string | undefined
}

/** A CLI command other than the roles: its arguments, the loader, stdout. Resolves to the exit code. */
export type Command = (args: string[], load: ConfigLoader, out: (text: string) => void) => Promise<number>


/** The loader of the configuration in `env` (the process's own, or a test's). */
export function configLoader (env: Readonly<Record<string, string | undefined>>): ConfigLoader {
  return Object.assign((mode: LoadMode) => loadConfig(env, { mode }), { configFile: () => configFilePath(env) })
}
