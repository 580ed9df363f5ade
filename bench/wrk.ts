import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseWrkReport, type WrkReport } from './wrk-report.js'
import { writeRequestFiles } from './wrk-requests.js'

const SCRIPT = new URL('wrk/signed-requests.lua', import.meta.url).pathname

/** Where wrk is: WRK_PATH when set, else /usr/bin/wrk or the first `wrk` on PATH; undefined when missing. */
export function findWrk (): string | undefined {
  const given = process.env.WRK_PATH
  const candidates = given !== undefined && given !== '' ? [given] : ['/usr/bin/wrk', ...(process.env.PATH ?? '').split(':').map(dir => `${dir}/wrk`)]
  return candidates.find(path => existsSync(path))
}

/** One wrk run; see bench/wrk/signed-requests.lua for what the script does. */
export interface WrkOptions {
  wrk: string
  /** Target URL, path included. */
  url: string
  /** Prefix of the request files (`<prefix>.<thread>`, from writeRequestFiles). */
  files: string
  /** wrk threads (default 2). */
  threads?: number
  connections: number
  durationS: number
  /** Paced: requests per second over all threads (default: as fast as possible). */
  rate?: number
  /** Stop each thread after this many responses (default: run for the duration). */
  stopAfterPerThread?: number
  /** Socket timeout (default 5 s). */
  timeoutS?: number
  /** Polled every 100 ms while wrk runs; once true, wrk is interrupted (SIGINT: it still reports). */
  until?: () => Promise<boolean>
}

/** Runs wrk in its own process and parses its report. */
export async function runWrk (opts: WrkOptions): Promise<WrkReport> {
  const threads = opts.threads ?? 2
  const args = [
    '-t', String(threads), '-c', String(opts.connections), '-d', `${opts.durationS}s`, '--timeout', `${opts.timeoutS ?? 5}s`,
    '-s', SCRIPT, opts.url, '--', opts.files, String((opts.rate ?? 0) / threads), String(opts.stopAfterPerThread ?? 0)
  ]
  const child = spawn(opts.wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  let running = true
  void closed.finally(() => { running = false })
  if (opts.until !== undefined) {
    while (running && !(await opts.until())) await sleep(100)
    if (running) child.kill('SIGINT')
  }
  const code = await closed
  if (code !== 0) throw new Error(`wrk exited ${String(code)}: ${stderr}${stdout}`)
  return parseWrkReport(stdout)
}

/** Options of {@link runSignedLoad}. */
export interface SignedLoadOptions {
  wrk: string
  url: string
  secret: string
  durationS: number
  /** Default 64. */
  connections?: number
  /** Unique bodies to prepare (default 30,000 per second of duration: enough for our roles on a small machine). */
  count?: number
  /** `n` of the first body (default: from the clock, so runs against one Redis do not repeat bodies). */
  first?: number
  /** Paced: requests per second over both threads (default: as fast as possible). */
  rate?: number
}

/** A wrk run with request files of its own (written to a temp dir, removed afterwards): for the profiling tools. */
export async function runSignedLoad (opts: SignedLoadOptions): Promise<WrkReport> {
  const dir = mkdtempSync(join(tmpdir(), 'zr-wrk-'))
  try {
    const files = join(dir, 'requests')
    writeRequestFiles(files, 2, { secret: opts.secret, first: opts.first ?? Date.now() % 1e9 * 100, count: opts.count ?? 30_000 * opts.durationS })
    return await runWrk({ wrk: opts.wrk, url: opts.url, files, threads: 2, connections: opts.connections ?? 64, durationS: opts.durationS, ...(opts.rate === undefined ? {} : { rate: opts.rate }) })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
