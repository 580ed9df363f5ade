import { spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import t from 'tap'
import { parse } from 'yaml'
import { ROOT } from '../helpers/cli.js'

const CHART = join(ROOT, 'helm/zoom-webhook-relay')
const has = (command: string): boolean => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0
// `merge: true`: docker-compose files share settings through YAML merge keys (<<: *relay).
const yamlFile = (path: string): unknown => parse(readFileSync(path, 'utf8'), { merge: true })

/** Every environment variable the README's configuration table documents. */
function documentedVariables (): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Several Zoom apps'))
  return new Set(table.split('\n').filter(l => l.startsWith('| `')).flatMap(l => [...(l.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(m => m[1] as string)))
}

function merge (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] = typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object' && current !== null && !Array.isArray(current)
      ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
      : value
  }
  return out
}

t.test('Helm chart: values.yaml and every ci/ values file validate against values.schema.json; bad values do not', async t => {
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object)
  const defaults = yamlFile(join(CHART, 'values.yaml')) as Record<string, unknown>
  t.ok(validate(defaults), `values.yaml: ${ajv.errorsText(validate.errors)}`)
  const ciFiles = readdirSync(join(CHART, 'ci'))
  t.ok(ciFiles.length >= 4, `${ciFiles.length} example values files`)
  for (const file of ciFiles) {
    const merged = merge(defaults, yamlFile(join(CHART, 'ci', file)) as Record<string, unknown>)
    t.ok(validate(merged), `ci/${file}: ${ajv.errorsText(validate.errors)}`)
  }
  const bad: Array<[string, Record<string, unknown>]> = [
    ['two Redis targets', { redis: { url: 'redis://r:6379', sentinels: 's:26379' } }],
    ['no Redis target', { redis: { url: '' } }],
    ['a Redis URL of another scheme', { redis: { url: 'http://r:6379' } }],
    ['an unknown region', { relay: { recallRegion: 'mars-1' } }],
    ['an unknown key', { web: { replicaz: 3 } }],
    ['a zero grace period', { terminationGracePeriodSeconds: 0 }],
    ['malformed sentinels', { redis: { url: '', sentinels: 'a b, c' } }]
  ]
  for (const [what, values] of bad) t.notOk(validate(merge(defaults, values)), `refused: ${what}`)
})

t.test('Helm chart: Chart.yaml, templates, NOTES and the grace-period guard', async t => {
  const chart = yamlFile(join(CHART, 'Chart.yaml')) as Record<string, string>
  t.match(chart, { apiVersion: 'v2', name: 'zoom-webhook-relay', type: 'application' })
  t.match(chart.version, /^\d+\.\d+\.\d+$/)
  t.ok(chart.appVersion)
  const templates = readdirSync(join(CHART, 'templates'))
  for (const name of ['web-deployment.yaml', 'worker-deployment.yaml', 'service.yaml', 'web-hpa.yaml', 'worker-hpa.yaml', 'web-pdb.yaml', 'worker-pdb.yaml', 'secret.yaml', 'configmap.yaml', 'ingress.yaml', 'servicemonitor.yaml', 'worker-keda.yaml', 'NOTES.txt', '_helpers.tpl']) {
    t.ok(templates.includes(name), name)
  }
  const web = readFileSync(join(CHART, 'templates/web-deployment.yaml'), 'utf8')
  for (const must of ['readOnlyRootFilesystem', 'livenessProbe', '/healthz', '/readyz', 'checksum/config', 'terminationGracePeriodSeconds', 'zwr.checkGracePeriod', 'emptyDir']) {
    t.ok(web.includes(must) || readFileSync(join(CHART, 'values.yaml'), 'utf8').includes(must), `web deployment: ${must}`)
  }
  t.match(readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8'), /fail \(printf "terminationGracePeriodSeconds/)
  t.match(readFileSync(join(CHART, 'templates/NOTES.txt'), 'utf8'), /\/zoom\/webhook/)
})

t.test('helm lint and helm template for every ci/ values file', { skip: has('helm') ? false : 'helm is not installed here: run `helm lint helm/zoom-webhook-relay -f helm/zoom-webhook-relay/ci/<file>` and `helm template` where it is (README, Deploying)' }, async t => {
  for (const file of readdirSync(join(CHART, 'ci'))) {
    const lint = spawnSync('helm', ['lint', CHART, '-f', join(CHART, 'ci', file)], { encoding: 'utf8' })
    t.equal(lint.status, 0, `helm lint ci/${file}: ${lint.stdout}${lint.stderr}`)
    const render = spawnSync('helm', ['template', 'relay', CHART, '-f', join(CHART, 'ci', file)], { encoding: 'utf8' })
    t.equal(render.status, 0, `helm template ci/${file}: ${render.stderr}`)
  }
  const tooShort = spawnSync('helm', ['template', 'relay', CHART, '-f', join(CHART, 'ci/default-values.yaml'), '--set', 'terminationGracePeriodSeconds=30'], { encoding: 'utf8' })
  t.not(tooShort.status, 0, 'a grace period below the delivery + shutdown timeouts is refused')
})

t.test('yamllint passes on the chart values, compose and deploy files', { skip: has('yamllint') ? false : 'yamllint is not installed (Debian package yamllint; .ci/run installs it)' }, async t => {
  const run = spawnSync('yamllint', ['-s', '-c', '.yamllint.yaml', 'docker-compose.yml', 'deploy', 'helm/zoom-webhook-relay/values.yaml', 'helm/zoom-webhook-relay/Chart.yaml', 'helm/zoom-webhook-relay/ci'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(run.status, 0, run.stdout + run.stderr)
})

t.test('docker-compose: valid, and every relay service uses only documented variables', async t => {
  const documented = documentedVariables()
  t.ok(documented.has('ZOOM_WEBHOOK_SECRET_TOKEN') && documented.has('REDIS_SENTINELS'), `${documented.size} documented variables`)
  const compose = yamlFile(join(ROOT, 'docker-compose.yml')) as { services: Record<string, { environment?: Record<string, string>, command?: string[], env_file?: string, deploy?: { replicas?: number } }>, 'x-relay': { environment: Record<string, string> } }
  for (const name of ['redis', 'web', 'worker', 'prometheus', 'grafana']) t.ok(compose.services[name], `service ${name}`)
  t.same(compose.services.web?.command, ['web'])
  t.same(compose.services.worker?.command, ['worker'])
  t.equal(compose.services.worker?.deploy?.replicas, 2)
  for (const name of ['web', 'worker']) {
    const env = compose.services[name]?.environment ?? {}
    t.same(Object.keys(env).filter(v => !documented.has(v)), [], `${name}: environment names are documented`)
    t.equal(compose.services[name]?.env_file, '.env', `${name}: secrets from .env`)
  }
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8')
  const exampleVars = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map(m => m[1] as string)
  t.same(exampleVars.filter(v => !documented.has(v) && v !== 'GRAFANA_ADMIN_PASSWORD'), [], '.env.example lists only documented variables')
  for (const required of ['ZOOM_WEBHOOK_SECRET_TOKEN', 'RECALL_ZOOM_OAUTH_APP_ID']) t.match(example, new RegExp(`^${required}=`, 'm'), `.env.example sets ${required}`)
  t.match(readFileSync(join(ROOT, '.gitignore'), 'utf8'), /^\.env$/m, '.env is never committed')
  const redisCommand = (compose.services.redis as unknown as { command: string[] }).command.join(' ')
  t.match(redisCommand, /--appendonly yes --appendfsync everysec --maxmemory-policy noeviction/, 'Redis with AOF everysec and noeviction')

  if (!has('docker-compose')) { t.comment('docker-compose not installed: `docker-compose config` skipped'); return }
  const dir = mkdtempSync(join(tmpdir(), 'zr-compose-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  for (const file of ['docker-compose.yml', 'Dockerfile', '.env.example']) copyFileSync(join(ROOT, file), join(dir, file))
  copyFileSync(join(ROOT, '.env.example'), join(dir, '.env'))
  cpSync(join(ROOT, 'deploy'), join(dir, 'deploy'), { recursive: true })
  const config = spawnSync('docker-compose', ['config', '-q'], { cwd: dir, encoding: 'utf8' })
  t.equal(config.status, 0, `docker-compose config: ${config.stderr}`)
})

t.test('Dockerfile: Node 24, multi-stage, production deps only, non-root, tini, health check', async t => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  t.equal([...dockerfile.matchAll(/^FROM node:24-/gm)].length, 2, 'two Node 24 stages')
  t.match(dockerfile, /npm ci --omit=dev/)
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /ENTRYPOINT \["tini", "--", "node"/)
  t.match(dockerfile, /^HEALTHCHECK .*\n?.*healthz/m)
  t.match(dockerfile, /^CMD \["all"\]$/m)
  t.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^node_modules$/m)
})
