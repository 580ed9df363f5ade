import t from 'tap'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'

t.test('start-up warns loudly when the given Redis can lose events (eviction policy, no AOF), and is quiet when it cannot', async t => {
  const risky = await startTestRedis({ aof: false })
  await risky.client().config('SET', 'maxmemory-policy', 'allkeys-lru')
  const relay = await startTestRelay({ redisUrl: risky.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web' })
  t.teardown(async () => { await relay.close(); await risky.stop() })
  await eventually(() => relay.logs.filter(l => l.includes('DATA LOSS RISK')).length === 2, 10_000, 'two warnings')
  const warnings = relay.logs.filter(l => l.includes('DATA LOSS RISK'))
  t.ok(warnings.every(l => l.includes('"level":40')), 'at warn level')
  t.match(warnings.join('\n'), /maxmemory-policy is \\"allkeys-lru\\".*Set maxmemory-policy noeviction/)
  t.match(warnings.join('\n'), /appendonly no.*Set appendonly yes/)

  const safe = await startTestRedis({ aof: true })
  const quiet = await startTestRelay({ redisUrl: safe.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web' })
  t.teardown(async () => { await quiet.close(); await safe.stop() })
  await eventually(async () => (await fetch(`${quiet.metricsUrl}/readyz`)).ok, 10_000, 'ready')
  await new Promise(resolve => setTimeout(resolve, 300))
  t.notOk(quiet.logs.some(l => l.includes('DATA LOSS RISK')), 'no warning with AOF and noeviction')
})
