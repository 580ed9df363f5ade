import t from 'tap'
import { dedupBuckets } from '../../src/store/dedup-window.js'

t.test('an event is remembered for at least the window and at most twice as long', async t => {
  const window = 7_200_000
  const start = 1_732_000_000_000 - (1_732_000_000_000 % window)
  const first = dedupBuckets('zoom-relay', { name: 'sales' }, window, start)
  t.same(first, {
    current: `zoom-relay:{sales}:dedup:${start / window}`,
    previous: `zoom-relay:{sales}:dedup:${start / window - 1}`,
    expireAt: start + 2 * window
  })
  // Seen at the very start of a bucket: still found (as "previous") until just before two windows have passed.
  const later = dedupBuckets('zoom-relay', { name: 'sales' }, window, start + 2 * window - 1)
  t.equal(later.previous, first.current, 'found one window and a bit later')
  t.ok(first.expireAt > start + 2 * window - 1, 'and its set still exists then')
  // Seen at the very end of a bucket: found one window later (the next bucket's "previous").
  const end = dedupBuckets('zoom-relay', { name: 'sales' }, window, start + window - 1)
  const oneWindowLater = dedupBuckets('zoom-relay', { name: 'sales' }, window, start + 2 * window - 1)
  t.equal(end.current, first.current)
  t.equal(oneWindowLater.previous, end.current, 'at least a whole window')
  t.not(dedupBuckets('zoom-relay', { name: 'sales' }, window, start + 2 * window).previous, first.current, 'gone after two')
  t.match(dedupBuckets('p', { name: 'a' }, 1000, 0), { current: 'p:{a}:dedup:0', previous: 'p:{a}:dedup:-1', expireAt: 2000 })
})
