import t from 'tap'
import { median, ratioOfMedians, tenthRates } from '../../bench/stats.js'

t.test('median of odd and even counts, unsorted input left as it was', async t => {
  const values = [5, 1, 3]
  t.equal(median(values), 3)
  t.same(values, [5, 1, 3])
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.equal(median([]), 0)
})

t.test('ratio of the medians, not the median of per-round ratios', async t => {
  // Per-round ratios would be 0.5, 0.6, 0.9 (median 0.6); the medians give 12,000 / 20,000.
  t.equal(ratioOfMedians([10_000, 12_000, 13_500], [20_000, 20_000, 15_000]), 0.6)
  t.equal(ratioOfMedians([1, 2], []), 0, 'no base, no ratio')
  t.equal(ratioOfMedians([1, 2], [0, 0]), 0)
})

t.test('tenth rates interpolate the boundaries and leave out the time before the count grew', async t => {
  // Idle for 5 s (start-up), then 1,000/s for 10 s, the last tenth at 500/s.
  const samples = [{ atMs: 0, count: 0 }, { atMs: 5000, count: 0 }]
  for (let s = 1; s <= 9; s++) samples.push({ atMs: 5000 + s * 1000, count: s * 1000 })
  samples.push({ atMs: 16_000, count: 10_000 })
  const r = tenthRates(samples, 10_000)
  t.equal(r.first, 1000)
  t.equal(r.last, 500)
  t.same(tenthRates([{ atMs: 0, count: 0 }, { atMs: 1000, count: 10 }], 10_000), { first: 0, last: 0 }, 'never got there: 0, not a guess')
})
