/** What wrk measured in one run, from the line bench/wrk/signed-requests.lua prints in done(). */
export interface WrkReport {
  durationS: number
  /** Responses received (any status). */
  requests: number
  /** Responses per second. */
  rps: number
  /** Responses with a status ≥ 400 (wrk's `errors.status`; neither server answers 1xx/3xx). */
  non2xx: number
  /** Connect, read, write errors and timeouts. */
  socketErrors: number
  /** Latency from the request's write to its response, in milliseconds. */
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
  /** How many times a thread started its request file again (re-sent bodies). */
  wrapped: number
}

const MARK = 'WRK_REPORT '

interface RawReport {
  durationUs: number
  requests: number
  errors: { connect: number, read: number, write: number, status: number, timeout: number }
  latencyUs: { p50: number, p90: number, p99: number, max: number, mean: number }
  wrapped: number
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0

/** Finds and checks the `WRK_REPORT {…}` line in wrk's stdout (wrk's own summary around it is ignored). */
export function parseWrkReport (stdout: string): WrkReport {
  const line = stdout.split('\n').find(l => l.startsWith(MARK))
  if (line === undefined) throw new Error(`wrk printed no ${MARK.trim()} line:\n${stdout.slice(-2000)}`)
  let raw: RawReport
  try {
    raw = JSON.parse(line.slice(MARK.length)) as RawReport
  } catch (err) {
    throw new Error(`wrk's report is not JSON (${(err as Error).message}): ${line}`)
  }
  const counts = [raw.durationUs, raw.requests, raw.wrapped, ...Object.values(raw.errors ?? {}), ...Object.values(raw.latencyUs ?? {})]
  if (raw.errors === undefined || raw.latencyUs === undefined || counts.length !== 13 || !counts.every(isCount)) {
    throw new Error(`wrk's report lacks a field or holds a negative or non-numeric one: ${line}`)
  }
  const durationS = raw.durationUs / 1e6
  const e = raw.errors
  const l = raw.latencyUs
  return {
    durationS,
    requests: raw.requests,
    rps: durationS > 0 ? raw.requests / durationS : 0,
    non2xx: e.status,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    p50: l.p50 / 1000,
    p90: l.p90 / 1000,
    p99: l.p99 / 1000,
    max: l.max / 1000,
    mean: l.mean / 1000,
    wrapped: raw.wrapped
  }
}
