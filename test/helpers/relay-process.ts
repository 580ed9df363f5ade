import { spawn, type ChildProcess } from 'node:child_process'
import type { Role } from '../../src/config/config.js'
import { cleanEnv, ROOT } from './cli.js'
import { eventually } from './queue.js'
import { freePort } from './redis-server.js'
import { RECALL_APP_ID, SECRET } from './relay.js'

export interface RelayProcess {
  role: Role
  /** `http://127.0.0.1:<port>` of the webhook server (also set for the worker role, unused there). */
  url: string
  metricsUrl: string
  child: ChildProcess
  /** Everything the process wrote, stdout and stderr. */
  output: () => string
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | NodeJS.Signals | null>
  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  stop: (graceMs?: number) => Promise<void>
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/**
 * The environment of a relay child process: only what it needs to run (secret,
 * Recall app, Redis, loopback ports), then `env`; nothing of the caller's that
 * would configure the relay.
 */
export function relayProcessEnv (opts: { redisUrl: string, recallBaseUrl: string, port: number, metricsPort: number, env?: Record<string, string> }): NodeJS.ProcessEnv {
  return cleanEnv({
    ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
    RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID,
    RECALL_BASE_URL: opts.recallBaseUrl,
    REDIS_URL: opts.redisUrl,
    HOST: '127.0.0.1',
    PORT: String(opts.port),
    METRICS_PORT: String(opts.metricsPort),
    ...opts.env
  })
}

/**
 * The relay as its own process (`zoom-relay <role>` from the sources), as in
 * production: for tests that kill processes or measure their memory.
 * `nodeArgs` go to node before the entry point (e.g. another `--import`).
 */
export async function startRelayProcess (role: Role, opts: { redisUrl: string, recallBaseUrl: string, env?: Record<string, string>, nodeArgs?: string[] }): Promise<RelayProcess> {
  const port = await freePort()
  const metricsPort = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', ...(opts.nodeArgs ?? []), 'src/cli/main.ts', role], {
    cwd: ROOT,
    env: relayProcessEnv({ ...opts, port, metricsPort, env: { LOG_LEVEL: 'warn', ...opts.env } }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const chunks: string[] = []
  child.stdout?.on('data', (d: Buffer) => chunks.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => chunks.push(d.toString()))
  const exited = new Promise<number | NodeJS.Signals | null>(resolve => child.once('exit', (code, signal) => resolve(code ?? signal)))
  const metricsUrl = `http://127.0.0.1:${metricsPort}`
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  let ended = false
  void exited.then(() => { ended = true })
  await relayUp(role, metricsUrl, () => ended, () => chunks.join(''))
  return {
    role,
    url: `http://127.0.0.1:${port}`,
    metricsUrl,
    child,
    output: () => chunks.join(''),
    exited,
    kill,
    stop: async (graceMs = 30_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
      child.kill('SIGTERM')
      await exited
      clearTimeout(timer)
    }
  }
}

/** Waits until a relay child answers `/healthz`; fails with its output if it ends first. */
export async function relayUp (role: Role, metricsUrl: string, ended: () => boolean, output: () => string): Promise<void> {
  await eventually(async () => {
    if (ended()) throw new Error(`relay ${role} exited during start-up:\n${output()}`)
    try {
      return (await fetch(`${metricsUrl}/healthz`)).ok
    } catch { return false }
  }, 60_000, `relay ${role} up`)
}

/** Resident memory of a relay process, from its own `/metrics`. */
export async function residentBytes (metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text()
  const match = /^process_resident_memory_bytes (\d+)/m.exec(text)
  return Number(match?.[1] ?? Number.NaN)
}
