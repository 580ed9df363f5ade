import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './redis-server.js'

/** A set of redis-server processes of one topology, started from the binary on the PATH. */
export interface Topology {
  ports: number[]
  /** Kills one process (SIGKILL: a crash). */
  kill: (port: number) => void
  stop: () => Promise<void>
}

async function waitFor (check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await sleep(100)
  }
}

function cli (port: number, ...args: string[]): string {
  try {
    return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch { return '' }
}

function launcher (dir: string): { start: (args: string[], name: string) => ChildProcess, children: Map<number, ChildProcess> } {
  const children = new Map<number, ChildProcess>()
  return {
    children,
    start: (args, name) => spawn('redis-server', [...args, '--dir', dir, '--logfile', join(dir, `${name}.log`)], { stdio: 'ignore' })
  }
}

async function stopAll (children: Map<number, ChildProcess>, dir: string): Promise<void> {
  await Promise.all([...children.values()].map(async c => {
    if (c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise(resolve => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
  }))
  rmSync(dir, { recursive: true, force: true })
}

/** Three masters, no replicas, slots spread by `redis-cli --cluster create`, AOF on. */
export async function startTestCluster (): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-cluster-'))
  const { start, children } = launcher(dir)
  const ports = [await freePort(), await freePort(), await freePort()]
  for (const port of ports) {
    children.set(port, start(['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', '2000', '--appendonly', 'yes', '--appendfilename', `aof-${port}`, '--appenddirname', `aof-${port}`, '--save', '', '--maxmemory-policy', 'noeviction'], `node-${port}`))
  }
  await waitFor(() => ports.every(p => cli(p, 'ping').trim() === 'PONG'), 'cluster nodes up')
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' })
  await waitFor(() => ports.every(p => cli(p, 'cluster', 'info').includes('cluster_state:ok')), 'cluster state ok')
  return { ports, kill: port => children.get(port)?.kill('SIGKILL'), stop: async () => { await stopAll(children, dir) } }
}

export interface SentinelTopology extends Topology {
  master: number
  replica: number
  sentinels: number[]
  /** Starts a killed data node again, as a replica of `masterPort` (as a restarted pod rejoins). */
  restartAsReplica: (port: number, masterPort: number) => void
  /** The port Sentinel currently reports as the master. */
  currentMaster: () => number | undefined
}

/** A master and a replica (AOF on both) watched by three Sentinels (master name `mymaster`, quorum 2, 1 s down-after). */
export async function startTestSentinel (): Promise<SentinelTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-sentinel-'))
  const { start, children } = launcher(dir)
  const master = await freePort()
  const replica = await freePort()
  const sentinels = [await freePort(), await freePort(), await freePort()]
  const common = ['--bind', '127.0.0.1', '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction']
  children.set(master, start(['--port', String(master), ...common, '--appendfilename', `aof-${master}`, '--appenddirname', `aof-${master}`], `master-${master}`))
  children.set(replica, start(['--port', String(replica), ...common, '--appendfilename', `aof-${replica}`, '--appenddirname', `aof-${replica}`, '--replicaof', '127.0.0.1', String(master)], `replica-${replica}`))
  await waitFor(() => cli(replica, 'info', 'replication').includes('master_link_status:up'), 'replica in sync')
  for (const port of sentinels) {
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1',
      `sentinel monitor mymaster 127.0.0.1 ${master} 2`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 5000',
      'sentinel parallel-syncs mymaster 1'
    ].join('\n') + '\n')
    children.set(port, spawn('redis-server', [conf, '--sentinel', '--logfile', join(dir, `sentinel-${port}.log`)], { stdio: 'ignore' }))
  }
  await waitFor(() => sentinels.every(p => cli(p, 'sentinel', 'replicas', 'mymaster').includes(String(replica))), 'sentinels see the replica')
  const currentMaster = (): number | undefined => {
    const lines = cli(sentinels[0] as number, 'sentinel', 'get-master-addr-by-name', 'mymaster').trim().split('\n')
    return lines[1] === undefined ? undefined : Number(lines[1])
  }
  const restartAsReplica = (port: number, masterPort: number): void => {
    children.set(port, start(['--port', String(port), ...common, '--appendfilename', `aof-${port}`, '--appenddirname', `aof-${port}`, '--replicaof', '127.0.0.1', String(masterPort)], `restarted-${port}`))
  }
  return { ports: [master, replica, ...sentinels], master, replica, sentinels, currentMaster, restartAsReplica, kill: port => children.get(port)?.kill('SIGKILL'), stop: async () => { await stopAll(children, dir) } }
}
