import { spawn, type ChildProcess } from 'node:child_process'

const ROOT = new URL('..', import.meta.url).pathname

/** A bench helper server (sink, ceiling) as a child process; resolves with the URL it prints first. */
export async function startChild (script: string, args: string[] = []): Promise<{ child: ChildProcess, url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return await new Promise((resolve, reject) => {
    proc.stdout?.once('data', (d: Buffer) => { resolve({ child: proc, url: (JSON.parse(d.toString().split('\n')[0] ?? '{}') as { url: string }).url }) })
    proc.once('exit', code => { reject(new Error(`${script} exited ${String(code)}`)) })
  })
}
