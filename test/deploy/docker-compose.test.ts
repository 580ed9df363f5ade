// docker-compose.yml, .env.example and the Prometheus/Grafana wiring of the compose stack.
// `docker-compose config` (Debian's package; no Docker engine needed) runs when it is installed.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { SAMPLE_EVENTS } from '../../src/zoom/sample-events.js'
import { ROOT } from '../helpers/cli.js'
import { documentedNames, onPath, readYaml, requiredNames, run } from '../helpers/deploy.js'

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string> | string[]
  env_file?: string | string[]
  depends_on?: Record<string, { condition: string }> | string[]
  deploy?: { replicas?: number }
  ports?: unknown[]
  volumes?: Array<string | { source?: string, target?: string }>
  healthcheck?: { test: string[] }
  stop_grace_period?: string
  read_only?: boolean
  profiles?: string[]
  entrypoint?: string[]
  restart?: string
}
interface Compose { services: Record<string, Service>, volumes?: Record<string, unknown> }

const RELAY_SERVICES = ['web', 'worker']
const compose = readYaml<Compose>(join(ROOT, 'docker-compose.yml'))
const envNames = (service: Service | undefined): string[] => {
  const env = service?.environment ?? {}
  return Array.isArray(env) ? env.map(entry => entry.split('=')[0] as string) : Object.keys(env)
}
const seconds = (duration: string | undefined): number => {
  const match = /^(\d+)(s|m)$/.exec(duration ?? '')
  return match === null ? 0 : Number(match[1]) * (match[2] === 'm' ? 60 : 1)
}

const DEMO_SERVICES = ['demo-sender', 'demo-sink']

t.test('services: Redis with AOF and noeviction, web, two workers, Prometheus, Grafana; the demo ones only with their profile', async t => {
  const always = Object.entries(compose.services).filter(([, s]) => s.profiles === undefined).map(([name]) => name)
  t.same(always.sort(), ['grafana', 'prometheus', 'redis', 'web', 'worker'])
  t.same(Object.keys(compose.services).filter(name => !always.includes(name)).sort(), DEMO_SERVICES)
  for (const name of DEMO_SERVICES) t.same(compose.services[name]?.profiles, ['demo'], `${name}: profile demo`)
  const redis = compose.services.redis as Service
  t.match(redis.image, /^redis:7/)
  t.match((redis.command ?? []).join(' '), /--appendonly yes --appendfsync everysec --maxmemory-policy noeviction/, 'AOF everysec, noeviction')
  t.same(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping'])
  const dataVolume = (redis.volumes ?? []).map(String).find(v => v.endsWith(':/data'))?.split(':')[0]
  t.ok(dataVolume !== undefined && compose.volumes !== undefined && dataVolume in compose.volumes, `named volume for /data (${dataVolume})`)

  t.same(compose.services.web?.command, ['web'])
  t.ok((compose.services.web?.ports ?? []).map(String).includes('8080:8080'), 'web publishes 8080')
  t.same(compose.services.worker?.command, ['worker'])
  t.equal(compose.services.worker?.deploy?.replicas, 2, 'two workers')
  t.notOk('version' in compose, 'no obsolete top-level version key')
})

t.test('relay services: one image, documented variables only, .env for secrets, Redis healthy first', async t => {
  const documented = documentedNames()
  for (const name of RELAY_SERVICES) {
    const service = compose.services[name] as Service
    t.equal(service.build, '.', `${name}: built from the Dockerfile`)
    t.equal(service.image, 'zoom-webhook-relay:local', `${name}: one image for both roles`)
    t.equal(service.env_file, '.env', `${name}: secrets from .env`)
    t.same(envNames(service).filter(v => !documented.has(v)), [], `${name}: environment names are documented in the README`)
    t.ok(envNames(service).includes('REDIS_URL'), `${name}: REDIS_URL set (the image has no redis-server)`)
    t.same(service.depends_on, { redis: { condition: 'service_healthy' } }, `${name}: starts once Redis answers`)
    t.ok(seconds(service.stop_grace_period) > 35, `${name}: stop_grace_period (${service.stop_grace_period}) above DELIVERY_TIMEOUT_MS + SHUTDOWN_TIMEOUT_MS`)
    t.equal(service.read_only, true, `${name}: read-only root filesystem`)
  }
})

t.test('.env.example: every documented variable, the required ones set, placeholders for secrets; .env ignored', async t => {
  const documented = documentedNames()
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
  const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map(m => m[1] as string)
  t.same([...new Set(listed)].sort(), [...documented].sort(), 'lists exactly the README\'s variables')
  t.equal(listed.length, new Set(listed).size, 'each once')
  const required = requiredNames()
  t.same(required.sort(), ['RECALL_ZOOM_OAUTH_APP_ID', 'ZOOM_WEBHOOK_SECRET_TOKEN'])
  for (const name of required) t.match(example, new RegExp(`^${name}=replace-with-`, 'm'), `${name}: set, to a placeholder`)
  const set = [...example.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)]
  for (const [, name, value] of set) {
    t.notMatch(value, /^["']|\s$/, `${name as string}: no quotes or trailing spaces (compose reads values literally)`)
    if (/TOKEN|KEY|PASSWORD/.test(name as string)) t.match(value, /^replace-with-/, `${name as string}: a placeholder, not a secret`)
  }
  t.match(readFileSync(join(ROOT, '.gitignore'), 'utf8'), /^\.env$/m, '.env is git-ignored')
  t.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^\.env$/m, '.env stays out of the image')
})

t.test('Prometheus scrapes web and every worker replica and loads the alert rules; Grafana is provisioned', async t => {
  const prometheus = compose.services.prometheus as Service
  const grafana = compose.services.grafana as Service
  const mounts = (service: Service): Map<string, string> => new Map((service.volumes ?? []).map(String).map(v => {
    const [source = '', target = ''] = v.split(':')
    return [target, source]
  }))
  const promMounts = mounts(prometheus)
  t.equal(promMounts.get('/etc/prometheus/prometheus.yml'), './deploy/prometheus/prometheus.yml')
  t.equal(promMounts.get('/etc/prometheus/alerts.yml'), './deploy/prometheus/alerts.yml')
  const config = readYaml<{ rule_files: string[], scrape_configs: Array<{ job_name: string, static_configs?: Array<{ targets: string[] }>, dns_sd_configs?: Array<{ names: string[], type: string, port: number }> }> }>(join(ROOT, 'deploy/prometheus/prometheus.yml'))
  t.ok(config.rule_files.includes('alerts.yml'), 'rule_files loads alerts.yml (next to prometheus.yml in the container)')
  const job = (name: string): (typeof config.scrape_configs)[number] | undefined => config.scrape_configs.find(c => c.job_name === name)
  t.same(job('zoom-relay-web')?.static_configs?.[0]?.targets, ['web:9464'], 'web on its metrics port')
  t.match(job('zoom-relay-worker')?.dns_sd_configs?.[0], { names: ['worker'], type: 'A', port: 9464 }, 'every worker replica through DNS service discovery')
  const alerts = readYaml<{ groups: Array<{ rules: Array<{ alert?: string }> }> }>(join(ROOT, 'deploy/prometheus/alerts.yml'))
  t.ok(alerts.groups.flatMap(g => g.rules).some(r => r.alert === 'ZoomRelayNotReady'), 'alerts.yml has ZoomRelayNotReady')

  const grafanaMounts = mounts(grafana)
  t.equal(grafanaMounts.get('/etc/grafana/provisioning'), './deploy/grafana/provisioning')
  const dashboardTarget = [...grafanaMounts].find(([, source]) => source === './deploy/grafana/dashboard.json')?.[0] ?? ''
  const provider = readYaml<{ providers: Array<{ options: { path: string } }> }>(join(ROOT, 'deploy/grafana/provisioning/dashboards/dashboards.yml'))
  t.ok(dashboardTarget.startsWith(`${provider.providers[0]?.options.path ?? '?'}/`), `dashboard.json mounted where the provider looks (${dashboardTarget})`)
  const datasource = readYaml<{ datasources: Array<{ type: string, url: string }> }>(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'))
  t.match(datasource.datasources[0], { type: 'prometheus', url: 'http://prometheus:9090' })
  t.doesNotThrow(() => JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboard.json'), 'utf8')), 'dashboard.json is JSON')
})

t.test('demo profile: a stand-in destination from the image, and a sender that follows each event to it', async t => {
  const sink = compose.services['demo-sink'] as Service
  const sender = compose.services['demo-sender'] as Service
  t.equal(sink.image, 'zoom-webhook-relay:local', 'the sink is the relay image')
  t.same(sink.entrypoint, ['tini', '--', 'node', 'dist/scripts/demo-sink.js'], 'running the compiled scripts/demo-sink.ts')
  const sinkEnv = sink.environment as Record<string, string>
  t.equal(sinkEnv.ZOOM_WEBHOOK_SECRET_TOKEN, '${ZOOM_WEBHOOK_SECRET_TOKEN:-replace-with-your-zoom-secret-token}', 'checks signatures with the relay\'s token from .env')
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
  t.match(example, new RegExp(`^RECALL_BASE_URL=http://demo-sink:${sinkEnv.DEMO_SINK_PORT}$`, 'm'), '.env.example delivers to the sink, on its port')
  t.match(example, /^ZOOM_WEBHOOK_SECRET_TOKEN=replace-with-your-zoom-secret-token$/m, 'the token the sink falls back to is the one .env.example sets')

  t.equal(sender.image, 'zoom-webhook-relay:local')
  t.equal(sender.env_file, '.env', 'the sender signs with the relay\'s token and follows in the relay\'s Redis')
  t.ok(envNames(sender).includes('REDIS_URL'))
  t.same(sender.entrypoint, ['/bin/sh', '-c'])
  const script = sender.command?.[0] ?? ''
  t.match(script, /zoom-relay send-test-event --url http:\/\/web:8080\/zoom\/webhook --validate/, 'a URL validation, checked')
  t.match(script, /zoom-relay send-test-event --url http:\/\/web:8080\/zoom\/webhook --event \$\$event --follow --timeout \d+s/, 'each event followed ($$ escapes compose interpolation)')
  const events = /for event in ([^;]+); do/.exec(script)?.[1]?.split(/\s+/) ?? []
  t.ok(events.length > 0 && events.every(e => (SAMPLE_EVENTS as readonly string[]).includes(e)), `sample events that exist (${events.join(', ')})`)
  t.match(sender.depends_on, { web: { condition: 'service_healthy' }, 'demo-sink': { condition: 'service_started' } })
  t.equal(sender.restart, 'no')
})

t.test('docker-compose config accepts the stack, and the resolved relay environment is documented', { skip: onPath('docker-compose') ? false : 'docker-compose is not installed (Debian package docker-compose; .ci/run installs it)' }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'zr-compose-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  for (const file of ['docker-compose.yml', 'Dockerfile', '.env.example']) copyFileSync(join(ROOT, file), join(dir, file))
  copyFileSync(join(ROOT, '.env.example'), join(dir, '.env'))
  cpSync(join(ROOT, 'deploy'), join(dir, 'deploy'), { recursive: true })
  cpSync(join(ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true })
  const config = run('docker-compose', ['--profile', 'demo', 'config'], dir)
  t.equal(config.status, 0, `docker-compose --profile demo config: ${config.stderr}`)
  t.equal(run('docker-compose', ['config', '--quiet'], dir).status, 0, 'and without the profile')
  const resolved = parse(config.stdout) as Compose
  const documented = documentedNames()
  for (const name of RELAY_SERVICES) {
    const env = envNames(resolved.services[name])
    // With env_file resolved: .env.example's variables reach the relay and nothing else does.
    t.same(env.filter(v => !documented.has(v)), [], `${name}: every variable in the resolved environment is documented`)
    for (const required of [...requiredNames(), 'REDIS_URL']) t.ok(env.includes(required), `${name}: ${required} set`)
  }
  t.equal(resolved.services.worker?.deploy?.replicas, 2, 'worker replicas survive resolution')
  const resolvedEnv = (name: string): Record<string, string> => resolved.services[name]?.environment as Record<string, string>
  t.equal(resolvedEnv('demo-sink').ZOOM_WEBHOOK_SECRET_TOKEN, resolvedEnv('web').ZOOM_WEBHOOK_SECRET_TOKEN, 'the sink verifies with the token the relay signs with')
  for (const name of [...RELAY_SERVICES, 'demo-sender']) t.equal(resolvedEnv(name).RECALL_BASE_URL, `http://demo-sink:${resolvedEnv('demo-sink').DEMO_SINK_PORT}`, `${name}: Recall is the demo sink`)
})
