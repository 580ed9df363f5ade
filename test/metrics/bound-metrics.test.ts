import t from 'tap'
import { Counter, Histogram, Registry } from 'prom-client'
import { BoundCounter, BoundHistogram } from '../../src/metrics/bound-metrics.js'
import { seededRandom } from '../helpers/random.js'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Sorts the sample lines of one exposition so that only the figures and their labels are compared, not the order of label sets. */
function samples (text: string): string[] {
  return text.split('\n').filter(line => line !== '' && !line.startsWith('#')).sort()
}

t.test('a bound histogram exposes exactly what prom-client\'s Histogram does for the same observations', async t => {
  const ours = new Registry()
  const theirs = new Registry()
  const options = { name: 'x_seconds', help: 'h', labelNames: ['app', 'outcome'] as const, buckets: BUCKETS }
  const bound = new BoundHistogram({ ...options, registers: [ours] })
  const reference = new Histogram({ ...options, registers: [theirs] })
  const random = seededRandom(7)
  const child = bound.labels({ app: 'a', outcome: 'delivered' })
  for (let i = 0; i < 5000; i++) {
    // Values on the bounds themselves, zero, and far above the last bucket too.
    const value = i % 50 === 0 ? (BUCKETS[i % BUCKETS.length] as number) : i % 97 === 0 ? 0 : random() * 12
    const labels = { app: i % 3 === 0 ? 'b "quoted"\\' : 'a', outcome: i % 5 === 0 ? 'retry' : 'delivered' }
    if (labels.app === 'a' && labels.outcome === 'delivered' && i % 2 === 0) child.observe(value)
    else bound.observe(labels, value)
    reference.observe(labels, value)
  }
  const text = await ours.metrics()
  t.same(samples(text), samples(await theirs.metrics()))
  t.match(text, /# TYPE x_seconds histogram/)
  t.match(text, /x_seconds_bucket\{le="\+Inf",app="a",outcome="delivered"\} \d+/)
})

t.test('a bound counter exposes exactly what prom-client\'s Counter does', async t => {
  const ours = new Registry()
  const theirs = new Registry()
  const options = { name: 'y_total', help: 'h', labelNames: ['destination', 'status_class'] as const }
  const bound = new BoundCounter({ ...options, registers: [ours] })
  const reference = new Counter({ ...options, registers: [theirs] })
  const child = bound.labels({ destination: 'recall', status_class: '2xx' })
  for (let i = 0; i < 1000; i++) {
    const labels = { destination: i % 4 === 0 ? 'crm' : 'recall', status_class: i % 7 === 0 ? '5xx' : '2xx' }
    const by = i % 10 === 0 ? 2.5 : 1
    if (labels.destination === 'recall' && labels.status_class === '2xx') child.inc(by)
    else bound.inc(labels, by)
    reference.inc(labels, by)
  }
  t.same(samples(await ours.metrics()), samples(await theirs.metrics()))
  t.match(await ours.metrics(), /# TYPE y_total counter/)
})

t.test('children are made once per label set and checked', async t => {
  const registry = new Registry()
  const counter = new BoundCounter({ name: 'z_total', help: 'h', labelNames: ['a'] as const, registers: [registry] })
  t.equal(counter.labels({ a: 'x' }), counter.labels({ a: 'x' }), 'the same child for the same labels')
  t.not(counter.labels({ a: 'x' }), counter.labels({ a: 'y' }))
  t.throws(() => counter.labels({ a: undefined as unknown as string }), TypeError, 'a missing label value is refused')
  t.throws(() => { counter.inc({ a: 'x' }, -1) }, RangeError, 'a counter only goes up')
  const histogram = new BoundHistogram({ name: 'w', help: 'h', labelNames: [] as const, buckets: [1], registers: [registry] })
  t.throws(() => { histogram.observe({}, Number.NaN) }, TypeError)
  t.throws(() => new BoundCounter({ name: 'z_total', help: 'h', labelNames: [] as const, registers: [registry] }), /already been registered/, 'names are unique per registry')
  counter.reset()
  t.notMatch(await registry.metrics(), /z_total\{/, 'reset drops every child')
})
