import { spawn } from 'node:child_process'

export const ROOT = new URL('../..', import.meta.url).pathname

/** The caller's environment without anything that would configure the relay. */
export function cleanEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(ZOOM_|RECALL_|REDIS_|CONFIG_FILE|PORT|METRICS_PORT|HOST|LOG_LEVEL|NODE_OPTIONS|DEAUTHORIZATION_|PROVIDER_API_|OAUTH_|OTEL_)/.test(k)))
  return { ...env, ...extra }
}

export interface CliRun { status: number | null, stdout: string, stderr: string }

/**
 * Runs `zoom-relay <args>` from the sources in a child process. Asynchronous,
 * so HTTP servers in this test process keep answering the CLI.
 */
export async function runCli (args: string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 60_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const status = await new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
  return { status, stdout, stderr }
}

/**
 * Runs `zoom-relay <args>` in this process (src/cli/cli.ts) with exactly `env`:
 * the same dispatcher as the real CLI, without a child's start-up cost.
 */
export async function runCliInProcess (args: string[], env: Record<string, string>): Promise<CliRun> {
  const { zoomRelay } = await import('../../src/cli/cli.js')
  let stdout = ''
  let stderr = ''
  const status = await zoomRelay(args, { env, stdout: text => { stdout += text }, stderr: text => { stderr += text } })
  return { status, stdout, stderr }
}
