import type { WrkReport } from './wrk-report.js'

/** A target line: met only when its figure is and every run behind it was clean. */
export interface Verdict {
  name: string
  met: boolean
  detail: string
  /** Why a run behind the figure does not count (non-2xx, socket errors, lost or re-sent events). */
  problems: string[]
}

/**
 * What makes a wrk run unfit to judge by: any non-2xx, any socket error, and
 * (when every body must be new, as for our roles) re-sent request files.
 */
export function runProblems (label: string, report: WrkReport, opts: { unique?: boolean } = {}): string[] {
  const problems: string[] = []
  if (report.non2xx > 0) problems.push(`${label}: ${report.non2xx} non-2xx`)
  if (report.socketErrors > 0) problems.push(`${label}: ${report.socketErrors} socket errors`)
  if (opts.unique === true && report.wrapped > 0) problems.push(`${label}: ran out of unique bodies (re-sent ${report.wrapped} times)`)
  return problems
}

export function verdict (name: string, figureMet: boolean, detail: string, problems: readonly string[] = []): Verdict {
  return { name, met: figureMet && problems.length === 0, detail, problems: [...problems] }
}

/** `target met` / `target missed` with the figure, and why a run did not count. */
export function formatVerdict (v: Verdict): string {
  const why = v.problems.length > 0 ? ` — not counted: ${v.problems.join('; ')}` : ''
  return `${v.met ? 'target met   ' : 'target missed'}  ${v.name}: ${v.detail}${why}`
}
