import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { ROOT } from '../helpers/cli.js'
import { eventually } from '../helpers/queue.js'
import { freePort, startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0

interface QueryAnswer { status: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }

t.test('a real Prometheus scrapes the relay with the shipped rules, and a metric reads back through its API', { skip: hasPrometheus ? false : 'prometheus is not installed (Debian package prometheus; .ci/run installs it)' }, async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url })
  const dir = mkdtempSync(join(tmpdir(), 'zr-prometheus-'))
  const port = await freePort()
  const target = new URL(relay.metricsUrl).host
  writeFileSync(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["${ROOT}deploy/prometheus/alerts.yml"]
scrape_configs:
  - job_name: zoom-relay-web
    static_configs: [{ targets: ["${target}"] }]
`)
  const prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
  const exited = new Promise(resolve => prometheus.once('exit', resolve))
  t.teardown(async () => {
    prometheus.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
    await relay.close(); await sink.close(); await redis.stop()
  })
  const api = `http://127.0.0.1:${port}/api/v1`
  const query = async (q: string): Promise<QueryAnswer['data']['result']> => {
    try {
      const res = await request(`${api}/query?query=${encodeURIComponent(q)}`)
      return (await res.body.json() as QueryAnswer).data?.result ?? []
    } catch { return [] }
  }

  const body = meetingCreated(1)
  const res = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  t.equal(res.statusCode, 200)
  await res.body.dump()
  await sink.waitFor(1)

  await eventually(async () => (await query('zoom_relay_webhooks_received_total{outcome="accepted"}')).length > 0, 30_000, 'metric scraped')
  const [accepted] = await query('zoom_relay_webhooks_received_total{outcome="accepted"}')
  t.equal(accepted?.value[1], '1', 'one accepted webhook, read back through Prometheus')
  t.equal(accepted?.metric.job, 'zoom-relay-web')
  t.equal(accepted?.metric.event, 'meeting.created')
  await eventually(async () => (await query('zoom_relay_ready')).some(r => r.value[1] === '1'), 30_000, 'ready scraped')
  await eventually(async () => (await query('zoom_relay_delivery_attempts_total{outcome="delivered"}')).length > 0, 30_000, 'delivery scraped')

  const rules = await (await request(`${api}/rules`)).body.json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string }> }> } }
  const loaded = rules.data.groups.flatMap(g => g.rules)
  t.ok(loaded.length >= 9, `${loaded.length} alert rules loaded`)
  await eventually(async () => {
    const again = await (await request(`${api}/rules`)).body.json() as typeof rules
    return again.data.groups.flatMap(g => g.rules).every(r => r.health === 'ok')
  }, 30_000, 'every rule evaluated without error')
  t.pass('every rule evaluates against the relay\'s real metrics')
})
