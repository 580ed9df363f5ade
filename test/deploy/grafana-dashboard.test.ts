import { readFileSync } from 'node:fs'
import t from 'tap'
import { RelayMetrics } from '../../src/metrics/relay-metrics.js'
import { ROOT } from '../helpers/cli.js'

interface Panel { title: string, targets?: Array<{ expr: string }> }

t.test('the Grafana dashboard is valid JSON, covers what on-call needs, and queries only metrics the relay exports', async t => {
  const dashboard = JSON.parse(readFileSync(`${ROOT}deploy/grafana/dashboard.json`, 'utf8')) as { uid: string, panels: Panel[] }
  t.equal(dashboard.uid, 'zoom-webhook-relay')
  const titles = dashboard.panels.map(p => p.title.toLowerCase()).join('\n')
  for (const topic of ['ack latency', 'by event', 'delivery outcomes by destination', 'queue depth', 'oldest waiting', 'dead-letter', 'validation heartbeat', 'destination state']) {
    t.match(titles, topic, `a panel for ${topic}`)
  }
  const exported = new Set((await new RelayMetrics().registry.getMetricsAsJSON()).flatMap(m =>
    String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]))
  const used = dashboard.panels.flatMap(p => p.targets ?? []).flatMap(target => [...target.expr.matchAll(/\b(zoom_relay_[a-z_]+)\b/g)].map(m => m[1] as string))
  t.ok(used.length >= 14, `${used.length} metric references`)
  for (const name of new Set(used)) t.ok(exported.has(name), `${name} is exported by the relay`)
})
