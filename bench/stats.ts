/** The median (mean of the middle two for an even count); 0 for none. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return 0
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * Ratio of the medians of alternating rounds: a drift of the shared machine
 * during the run weighs on both sides. 0 when the base is 0 or missing.
 */
export function ratioOfMedians (ours: readonly number[], base: readonly number[]): number {
  const b = median(base)
  return b > 0 ? median(ours) / b : 0
}

/** A count observed at a time (ms), e.g. a stream's length while it fills. */
export interface CountSample { atMs: number, count: number }

/**
 * Rates (per second) over the first and the last tenth of `total`, from
 * samples of a growing count: the time each boundary was passed is
 * interpolated between the two samples around it. 0 when the count never got
 * that far.
 */
export function tenthRates (all: readonly CountSample[], total: number): { first: number, last: number } {
  // From the last sample before the count started to grow: start-up time is not part of the first tenth.
  const startCount = all[0]?.count ?? 0
  const growing = all.findIndex(s => s.count > startCount)
  const samples = growing > 0 ? all.slice(growing - 1) : all
  const timeAt = (count: number): number | undefined => {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i] as CountSample
      if (s.count < count) continue
      const prev = samples[i - 1]
      if (prev === undefined || s.count === prev.count) return s.atMs
      return prev.atMs + (s.atMs - prev.atMs) * (count - prev.count) / (s.count - prev.count)
    }
    return undefined
  }
  const rate = (from: number, to: number): number => {
    const a = timeAt(from)
    const b = timeAt(to)
    return a !== undefined && b !== undefined && b > a ? (to - from) / ((b - a) / 1000) : 0
  }
  const tenth = (total - startCount) / 10
  return { first: rate(startCount, startCount + tenth), last: rate(total - tenth, total) }
}
