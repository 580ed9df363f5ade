import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

export interface TestRedis {
  url: string
  /** `unix://…/redis.sock` when started with `unixSocket` (the embedded Redis' transport), else undefined. */
  socketUrl?: string
  port: number
  dir: string
  /** Kills the server (SIGKILL by default: a crash, no final fsync). */
  kill: (signal?: NodeJS.Signals) => Promise<void>
  /** Sends a signal without waiting for an exit (SIGSTOP/SIGCONT: a hung Redis). */
  signal: (signal: NodeJS.Signals) => void
  /** Starts it again on the same port and directory (reloading the AOF when on). */
  start: () => Promise<void>
  /** Kills it and removes its directory. */
  stop: () => Promise<void>
  /** A plain client for assertions; closed by stop(). */
  client: () => Redis
}

/** Ports freePort has handed out in this process. */
const issuedPorts = new Set<number>()

/** A loopback port nothing listens on now, never the same one twice in a process. */
export async function freePort (): Promise<number> {
  // The kernel may hand the port it just freed out again: two calls in a row (PORT, then METRICS_PORT) once got the
  // same one. A port is handed out at most once per process.
  for (;;) {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    await new Promise(resolve => server.close(resolve))
    if (address === null || typeof address === 'string') throw new Error('no port')
    if (!issuedPorts.has(address.port)) {
      issuedPorts.add(address.port)
      return address.port
    }
  }
}

/**
 * A real redis-server of this suite's own, on a free loopback port, in a temp dir;
 * with `unixSocket`, also on a unix socket in that dir (`socketUrl`).
 */
export async function startTestRedis (opts: { aof?: boolean, unixSocket?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'zr-redis-'))
  const socket = join(dir, 'redis.sock')
  let child: ChildProcess | undefined
  const clients: Redis[] = []
  const url = `redis://127.0.0.1:${port}`

  const start = async (): Promise<void> => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', opts.aof === true ? 'yes' : 'no', '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction', '--logfile', join(dir, 'redis.log'),
      ...(opts.unixSocket === true ? ['--unixsocket', socket, '--unixsocketperm', '700'] : [])
    ], { stdio: 'ignore' })
    const deadline = Date.now() + 10_000
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      probe.on('error', () => {})
      try {
        await probe.connect()
        // Loading an AOF answers LOADING until done.
        if (await probe.ping() === 'PONG') return
      } catch {
      } finally {
        probe.disconnect()
      }
      if (Date.now() > deadline) throw new Error(`test redis on ${port} did not start`)
      await sleep(25)
    }
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise(resolve => c.once('exit', resolve))
    c.kill(signal)
    await exited
  }
  await start()
  return {
    url,
    ...(opts.unixSocket === true ? { socketUrl: `unix://${socket}` } : {}),
    port,
    dir,
    kill,
    signal: sig => { child?.kill(sig) },
    start,
    client: () => {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    stop: async () => {
      for (const c of clients) c.disconnect()
      child?.kill('SIGCONT')
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
