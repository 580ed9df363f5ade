import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { RelayError } from '../errors.js'
import { redisOptions } from './redis-connection.js'

/** Unix socket paths longer than this do not fit in `sockaddr_un` on Linux and macOS. */
const MAX_SOCKET_PATH = 100

export interface EmbeddedRedis {
  /** `unix:///…/redis.sock`, or `redis://127.0.0.1:<port>` when the data directory's path is too long. */
  url: string
  /** False when a redis-server already serving this data directory was reused. */
  owned: boolean
  stop: () => Promise<void>
}

/**
 * Starts `redis-server` from the PATH for a single-machine install: AOF on
 * (`appendfsync everysec`), `noeviction`, data in `dataDir`, listening only on
 * a unix socket (or loopback). A server left running on the same directory by
 * an earlier run is reused rather than started twice over the same AOF.
 */
export async function startEmbeddedRedis (dataDir: string, log: (msg: string) => void): Promise<EmbeddedRedis> {
  mkdirSync(dataDir, { recursive: true })
  const socket = join(dataDir, 'redis.sock')
  const useSocket = socket.length <= MAX_SOCKET_PATH

  if (useSocket && await answersPing(`unix://${socket}`)) {
    log(`reusing the embedded redis-server already serving ${dataDir}`)
    return { url: `unix://${socket}`, owned: false, stop: async () => {} }
  }

  const port = useSocket ? 0 : await freePort()
  const url = useSocket ? `unix://${socket}` : `redis://127.0.0.1:${port}`
  const args = [
    '--port', String(port), '--bind', '127.0.0.1',
    ...(useSocket ? ['--unixsocket', socket, '--unixsocketperm', '700'] : []),
    '--dir', dataDir, '--logfile', join(dataDir, 'redis.log'),
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--protected-mode', 'yes'
  ]
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const spawnFailed = new Promise<Error>(resolve => child.once('error', resolve))

  const deadline = Date.now() + 10_000
  for (;;) {
    const failure = await Promise.race([spawnFailed, exited.then(code => new Error(`redis-server exited with code ${code}; see ${join(dataDir, 'redis.log')}`)), sleep(50)])
    if (failure instanceof Error) {
      throw new RelayError('ZR_EMBEDDED_REDIS_FAILED', (failure as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'REDIS_URL is not set and redis-server is not on the PATH. Install Redis (e.g. apt-get install redis-server) or set REDIS_URL.'
        : `Could not start the embedded redis-server: ${failure.message}`)
    }
    if (await answersPing(url)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new RelayError('ZR_EMBEDDED_REDIS_FAILED', `The embedded redis-server did not answer within 10 s; see ${join(dataDir, 'redis.log')}`)
    }
  }
  log(`REDIS_URL is not set: started an embedded redis-server (pid ${child.pid}, AOF on, data in ${dataDir}) at ${url}`)
  return { url, owned: true, stop: () => stopChild(child, exited) }
}

async function stopChild (child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null) return
  // SIGTERM makes redis-server fsync the AOF before it exits.
  child.kill('SIGTERM')
  await Promise.race([exited, sleep(5000, undefined, { ref: false })])
  if (child.exitCode === null) child.kill('SIGKILL')
}

async function answersPing (url: string): Promise<boolean> {
  const client = new Redis({ ...redisOptions(url, 'probe'), lazyConnect: true, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.ping() === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise(resolve => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('could not find a free port')
  return address.port
}
