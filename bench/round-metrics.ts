import { sumMetric } from '../test/helpers/queue.js'

/** Bounds of the round-duration buckets the summaries report, as the metric's `le` labels spell them (seconds). */
const ROUND_BOUNDS = ['0.001', '0.005', '0.01', '0.025'] as const

/** A web role's group-commit rounds so far, from its /metrics (zoom_relay_ingest_round_*). */
export interface RoundTotals {
  /** Every round, stored or failed, and the events they held. */
  rounds: number
  events: number
  /** Rounds Redis stored, and how many of those it answered within each of ROUND_BOUNDS. */
  stored: number
  within: number[]
}

/** Read from one scrape of `metricsUrl`, or from `text`, a scrape already made. */
export async function roundTotals (metricsUrl: string, text?: string): Promise<RoundTotals> {
  const scrape = text ?? await (await fetch(`${metricsUrl}/metrics`)).text()
  const stored = { outcome: 'stored' }
  return {
    rounds: sumMetric(scrape, 'zoom_relay_ingest_round_events_count') ?? 0,
    events: sumMetric(scrape, 'zoom_relay_ingest_round_events_sum') ?? 0,
    stored: sumMetric(scrape, 'zoom_relay_ingest_round_duration_seconds_count', stored) ?? 0,
    within: ROUND_BOUNDS.map(le => sumMetric(scrape, 'zoom_relay_ingest_round_duration_seconds_bucket', { ...stored, le }) ?? 0)
  }
}

/** The rounds between two readings, e.g. `6,067 rounds, 8.2 events each; Redis answered 54.4 % within 1 ms, …`. */
export function describeRounds (before: RoundTotals, after: RoundTotals): string {
  const rounds = after.rounds - before.rounds
  if (rounds <= 0) return 'no rounds'
  const stored = after.stored - before.stored
  const share = (i: number): string => `${(100 * ((after.within[i] ?? 0) - (before.within[i] ?? 0)) / stored).toFixed(1)} %`
  return `${rounds.toLocaleString('en-US')} rounds, ${((after.events - before.events) / rounds).toFixed(1)} events each` +
    (stored < rounds ? `, ${(rounds - stored).toLocaleString('en-US')} failed` : '') +
    (stored > 0 ? `; Redis answered ${ROUND_BOUNDS.map((le, i) => `${share(i)} within ${Number(le) * 1000} ms`).join(', ')}` : '')
}
