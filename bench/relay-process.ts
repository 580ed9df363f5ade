import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import type { Role } from '../src/config/config.js'
import { ROOT } from '../test/helpers/cli.js'
import { freePort } from '../test/helpers/redis-server.js'
import { relayProcessEnv, relayUp } from '../test/helpers/relay-process.js'

/** A relay process of the bench: compiled, as users run it. */
export interface BenchRelay {
  role: Role
  url: string
  metricsUrl: string
  pid: number
  /** SIGTERM and wait (SIGKILL after 30 s). */
  stop: () => Promise<void>
}

/** Options of {@link startCompiledRelay}. */
export interface CompiledRelayOptions {
  redisUrl: string
  /** RECALL_BASE_URL of the env-configured app (the bench's sink). */
  recallBaseUrl: string
  /** Where its stdout and stderr go: a file, as a service manager would keep them. */
  logFile: string
  /** More variables; nothing else is set, so the relay runs with its defaults (LOG_LEVEL info included). */
  env?: Record<string, string>
}

/**
 * `node dist/src/cli/main.js <role>` (the image's entry point; `npm run build`
 * first), with only what it needs to run set: secret, Recall app, Redis, ports.
 */
export async function startCompiledRelay (role: Role, opts: CompiledRelayOptions): Promise<BenchRelay> {
  const port = await freePort()
  const metricsPort = await freePort()
  const log = openSync(opts.logFile, 'a')
  const child = spawn(process.execPath, ['dist/src/cli/main.js', role], {
    cwd: ROOT,
    // The relay's own defaults (LOG_LEVEL info included), as users run it.
    env: relayProcessEnv({ ...opts, port, metricsPort }),
    stdio: ['ignore', log, log]
  })
  closeSync(log)
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let ended = false
  void exited.then(() => { ended = true })
  const metricsUrl = `http://127.0.0.1:${metricsPort}`
  await relayUp(role, metricsUrl, () => ended, () => readFileSync(opts.logFile, 'utf8').slice(-4000))
  return {
    role,
    url: `http://127.0.0.1:${port}`,
    metricsUrl,
    pid: child.pid ?? 0,
    stop: async () => {
      if (ended) return
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(timer)
    }
  }
}

/** Relay settings written `VAR=value,…` (BENCH_RELAY_ENV, cpu-cost.ts' last argument); throws on a pair without `=`. */
export function parseRelaySettings (text: string): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const pair of text.split(',').map(p => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new Error(`"${pair}" is not VAR=value`)
    settings[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return settings
}
