import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/**
 * CPU time of processes and threads from Linux' /proc, for the bench and its
 * diagnostic tools: a figure per request is steadier than a rate on a shared
 * machine.
 */

/**
 * User + system CPU from a `/proc/…/stat` file, in microseconds: fields 14+15
 * (utime, stime) or, with `children`, 16+17 (of children that have ended and
 * were waited for).
 */
function statCpuMicros (path: string, children = false): number {
  const fields = (readFileSync(path, 'utf8').split(') ')[1] ?? '').split(' ')
  const at = children ? 13 : 11
  return (Number(fields[at]) + Number(fields[at + 1])) * 10_000
}

/** This process' children that have ended (each wrk run). */
const endedChildrenCpuMicros = (): number => statCpuMicros('/proc/self/stat', true)
/** A process and all its threads. */
export const cpuMicros = (pid: number): number => statCpuMicros(`/proc/${pid}/stat`)
/** A process' main thread alone (the event loop). */
export const mainThreadCpuMicros = (pid: number): number => statCpuMicros(`/proc/${pid}/task/${pid}/stat`)

/** Nanoseconds a thread has run and has waited on a run queue for a core (the kernel's schedstat). */
export function schedstat (pid: number): { ranNs: number, waitedNs: number } {
  const [ran, waited] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number)
  return { ranNs: ran ?? 0, waitedNs: waited ?? 0 }
}

/** The pid of the Redis server `client` talks to (INFO server). */
export async function redisPid (client: Redis): Promise<number> {
  return Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1])
}

/** CPU microseconds per request of one load run: the server (bare route or relay), its Redis (0 without one) and wrk. */
export interface RunCpu {
  server: number
  redis: number
  wrk: number
}

/**
 * Runs `load` (one wrk run, a child of this process) and returns its report
 * with the CPU per answered request that the server, its Redis and wrk spent
 * meanwhile. Work a process does after the run (a worker still delivering) is
 * not in it.
 */
export async function withRunCpu<R extends { requests: number }> (pids: { server: number, redis?: number }, load: () => Promise<R>): Promise<{ report: R, cpu: RunCpu }> {
  const redisCpu = (): number => pids.redis === undefined ? 0 : cpuMicros(pids.redis)
  const before = { server: cpuMicros(pids.server), redis: redisCpu(), wrk: endedChildrenCpuMicros() }
  const report = await load()
  const requests = Math.max(1, report.requests)
  return {
    report,
    cpu: {
      server: (cpuMicros(pids.server) - before.server) / requests,
      redis: (redisCpu() - before.redis) / requests,
      wrk: (endedChildrenCpuMicros() - before.wrk) / requests
    }
  }
}
