import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { describeRounds, roundTotals } from '../../bench/round-metrics.js'
import { RelayMetrics } from '../../src/metrics/relay-metrics.js'

t.test('rounds between two readings of a relay\'s own /metrics: size, failures, and Redis\' answer times', async t => {
  const metrics = new RelayMetrics()
  const server = createServer((_req, res) => {
    void metrics.registry.metrics().then(text => res.end(text))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  metrics.observeIngestRound({ events: 1, seconds: 0.0002, stored: true })
  const before = await roundTotals(url)
  t.same(before, { rounds: 1, events: 1, stored: 1, within: [1, 1, 1, 1] })
  t.equal(describeRounds(before, before), 'no rounds')

  for (const [events, seconds] of [[3, 0.0004], [5, 0.003], [8, 0.007], [4, 0.02]] as const) metrics.observeIngestRound({ events, seconds, stored: true })
  metrics.observeIngestRound({ events: 5, seconds: 0.5, stored: false })
  const after = await roundTotals(url)
  t.same(after, { rounds: 6, events: 26, stored: 5, within: [2, 3, 4, 5] })
  t.equal(describeRounds(before, after),
    '5 rounds, 5.0 events each, 1 failed; Redis answered 25.0 % within 1 ms, 50.0 % within 5 ms, 75.0 % within 10 ms, 100.0 % within 25 ms',
    'the shares are of the stored rounds; the size counts the failed one too')
})
