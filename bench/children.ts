import { spawn, type ChildProcess } from 'node:child_process'
import { Pool } from 'undici'
import { startRelayProcess } from '../test/helpers/relay-process.js'
import { SECRET } from '../test/helpers/relay.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

const ROOT = new URL('..', import.meta.url).pathname

/** A bench helper server (sink, ceiling) as a child process; resolves with the URL it prints first. */
export async function startChild (script: string, args: string[] = []): Promise<{ child: ChildProcess, url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return await new Promise((resolve, reject) => {
    proc.stdout?.once('data', (d: Buffer) => { resolve({ child: proc, url: (JSON.parse(d.toString().split('\n')[0] ?? '{}') as { url: string }).url }) })
    proc.once('exit', code => { reject(new Error(`${script} exited ${String(code)}`)) })
  })
}

/** Stores `events` signed bodies through a web process of its own (stopped afterwards): a stream to drain. */
export async function storeThroughWeb (opts: { redisUrl: string, sinkUrl: string, env: Record<string, string> }, events: number): Promise<void> {
  const web = await startRelayProcess('web', { redisUrl: opts.redisUrl, recallBaseUrl: opts.sinkUrl, env: opts.env })
  const pool = new Pool(web.url, { connections: 32 })
  let n = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (n < events) {
      const body = meetingCreatedBody(n++)
      const res = await pool.request({ method: 'POST', path: '/zoom/webhook', headers: signedHeaders(SECRET, body), body })
      await res.body.dump()
    }
  }))
  await pool.close()
  await web.stop()
}
