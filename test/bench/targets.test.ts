import t from 'tap'
import { formatVerdict, runProblems, verdict } from '../../bench/targets.js'
import type { WrkReport } from '../../bench/wrk-report.js'

const clean: WrkReport = { durationS: 10, requests: 100_000, rps: 10_000, non2xx: 0, socketErrors: 0, p50: 1, p90: 2, p99: 5, max: 20, mean: 1.2, wrapped: 0 }

t.test('a clean run met by its figure is met', async t => {
  const v = verdict('web role: ingest ratio ≥ 0.60', true, 'ratio 0.64', runProblems('round 1', clean, { unique: true }))
  t.equal(v.met, true)
  t.equal(formatVerdict(v), 'target met     web role: ingest ratio ≥ 0.60: ratio 0.64')
})

t.test('any non-2xx makes the target missed, whatever the figure, and says why', async t => {
  const v = verdict('web role: ingest ratio ≥ 0.60', true, 'ratio 0.91', runProblems('round 2', { ...clean, non2xx: 1 }))
  t.equal(v.met, false)
  t.equal(formatVerdict(v), 'target missed  web role: ingest ratio ≥ 0.60: ratio 0.91 — not counted: round 2: 1 non-2xx')
})

t.test('socket errors, and re-sent bodies where each must be new, make it missed too', async t => {
  t.same(runProblems('bare round 1', { ...clean, socketErrors: 3 }), ['bare round 1: 3 socket errors'])
  t.same(runProblems('round 1', { ...clean, wrapped: 1 }, { unique: true }), ['round 1: ran out of unique bodies (re-sent 1 times)'])
  t.same(runProblems('bare round 1', { ...clean, wrapped: 4 }), [], 'the bare route stores nothing: re-sending to it is fine')
  t.equal(verdict('x', true, 'y', ['bare round 1: 3 socket errors']).met, false)
})

t.test('a figure that misses is missed on a clean run', async t => {
  t.equal(verdict('burst: ack p99 ≤ 20 ms', false, 'p99 27 ms').met, false)
})
