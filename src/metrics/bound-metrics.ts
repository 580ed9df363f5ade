import type { Metric, Registry } from 'prom-client'

/**
 * Counters and histograms for the per-request and per-delivery paths.
 *
 * prom-client validates and hashes the label object on every `inc` and
 * `observe`; on the hot paths that showed as 5–7 % of a busy worker's CPU
 * (docs/performance.md). Here a child is looked up once per label set
 * (`labels()`, cached by the caller or by key) and then only adds numbers.
 * The metrics register with a prom-client `Registry` like any other and
 * expose exactly what prom-client's own Counter and Histogram would
 * (test/metrics/bound-metrics.test.ts compares the two).
 */

type Labels<L extends string> = Record<L, string>

interface MetricOptions<L extends string> {
  name: string
  help: string
  labelNames: readonly L[]
  registers: Registry[]
}

/** The fields of prom-client's metric objects that its Registry reads. */
interface ExportedValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

abstract class BoundMetric<L extends string, C> {
  readonly name: string
  readonly help: string
  abstract readonly type: 'counter' | 'histogram'
  readonly aggregator = 'sum'
  private readonly labelNames: readonly L[]
  protected readonly children = new Map<string, { labels: Labels<L>, child: C }>()

  constructor (opts: MetricOptions<L>) {
    this.name = opts.name
    this.help = opts.help
    this.labelNames = opts.labelNames
    // prom-client's Metric type is a union of its own classes; its Registry only
    // calls get(), reset() and reads name, help, type and aggregator.
    for (const registry of opts.registers) registry.registerMetric(this as unknown as Metric)
  }

  /** The child for these label values; keep it where the same labels recur. */
  labels (labels: Labels<L>): C {
    let key = ''
    for (const name of this.labelNames) key += `${labels[name]}\u0000`
    let entry = this.children.get(key)
    if (entry === undefined) {
      const copy = {} as Labels<L>
      for (const name of this.labelNames) {
        const value = labels[name]
        if (typeof value !== 'string') throw new TypeError(`${this.name}: label "${name}" must be a string`)
        copy[name] = value
      }
      entry = { labels: copy, child: this.create() }
      this.children.set(key, entry)
    }
    return entry.child
  }

  reset (): void {
    this.children.clear()
  }

  async get (): Promise<{ name: string, help: string, type: string, aggregator: string, values: ExportedValue[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() }
  }

  protected abstract create (): C
  protected abstract values (): ExportedValue[]
}

export class CounterChild {
  value = 0

  inc (by = 1): void {
    if (!(by >= 0)) throw new RangeError('a counter only goes up')
    this.value += by
  }
}

/** A monotonic counter (Prometheus `counter`). */
export class BoundCounter<L extends string> extends BoundMetric<L, CounterChild> {
  readonly type = 'counter'

  inc (labels: Labels<L>, by = 1): void {
    this.labels(labels).inc(by)
  }

  protected create (): CounterChild {
    return new CounterChild()
  }

  protected values (): ExportedValue[] {
    return [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value }))
  }
}

export class HistogramChild {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[]
  sum = 0
  count = 0
  private readonly bounds: readonly number[]

  constructor (bounds: readonly number[]) {
    this.bounds = bounds
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe (value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`)
    let i = 0
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
  }
}

/** A histogram with fixed buckets (Prometheus `histogram`: `_bucket{le}`, `_sum`, `_count`). */
export class BoundHistogram<L extends string> extends BoundMetric<L, HistogramChild> {
  readonly type = 'histogram'
  private readonly bounds: readonly number[]

  constructor (opts: MetricOptions<L> & { buckets: readonly number[] }) {
    super(opts)
    this.bounds = [...opts.buckets].sort((a, b) => a - b)
  }

  observe (labels: Labels<L>, value: number): void {
    this.labels(labels).observe(value)
  }

  protected create (): HistogramChild {
    return new HistogramChild(this.bounds)
  }

  protected values (): ExportedValue[] {
    const values: ExportedValue[] = []
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0
      this.bounds.forEach((bound, i) => {
        cumulative += child.counts[i] as number
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: `${this.name}_bucket` })
      })
      values.push({ labels: { le: '+Inf', ...labels }, value: child.count, metricName: `${this.name}_bucket` })
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: child.count, metricName: `${this.name}_count` })
    }
    return values
  }
}
