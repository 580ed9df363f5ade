// The Helm chart, checked without a cluster. Everywhere: values.yaml and the ci/ example files
// against values.schema.json (and bad values refused), Chart.yaml, the templates' wiring
// (includes, value paths, environment names) and the grace-period rule. Where `helm` is on the
// PATH: `helm lint` and `helm template` for every ci/ file, with the rendered objects checked.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { formatPath, validateAppsDocument } from '../../src/config/apps-schema.js'
import { ROOT } from '../helpers/cli.js'
import { at, CHART, documentedNames, mergeValues, onPath, readYaml, run, valuesAt } from '../helpers/deploy.js'

type Json = Record<string, unknown>

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Json
const defaults = readYaml<Json>(join(CHART, 'values.yaml'))
const ciFiles = readdirSync(join(CHART, 'ci')).filter(f => f.endsWith('.yaml')).sort()
const ciValues = (file: string): Json => mergeValues(defaults, readYaml<Json>(join(CHART, 'ci', file)))
const templatesDir = join(CHART, 'templates')
const templateFiles = readdirSync(templatesDir).sort()
const templateText = (file: string): string => readFileSync(join(templatesDir, file), 'utf8')
const allTemplates = templateFiles.map(templateText).join('\n')

function compileSchema (): { ajv: Ajv, validate: ValidateFunction } {
  // Strict: unknown keywords or formats in the schema are errors (union types are intended).
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false })
  return { ajv, validate: ajv.compile(schema) }
}

t.test('values.yaml and every ci/ values file validate against values.schema.json', async t => {
  const { ajv, validate } = compileSchema()
  t.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#', 'draft-07, as Helm expects')
  t.ok(validate(defaults), `values.yaml: ${ajv.errorsText(validate.errors)}`)
  for (const file of ['default-values.yaml', 'multi-app-existing-secret.yaml', 'sentinel.yaml', 'cluster.yaml']) t.ok(ciFiles.includes(file), `ci/${file} exists`)
  for (const file of ciFiles) t.ok(validate(ciValues(file)), `ci/${file}: ${ajv.errorsText(validate.errors)}`)
})

t.test('the schema refuses bad values, each for its own reason', async t => {
  const { validate } = compileSchema()
  const base = ciValues('default-values.yaml')
  const bad: Array<[string, Json]> = [
    ['two Redis targets', valuesAt('redis.sentinels', 'sentinel-0:26379')],
    ['no Redis target', valuesAt('redis.url', '')],
    ['a Redis URL of another scheme', valuesAt('redis.url', 'http://redis:6379')],
    ['malformed Sentinel addresses', { redis: { url: '', sentinels: 'a b, c' } }],
    ['malformed Cluster nodes', { redis: { url: '', clusterNodes: 'redis-0:6379,,redis-1:port' } }],
    ['an empty Sentinel master name', { redis: { url: '', sentinels: 's:26379', sentinelMasterName: '' } }],
    ['REDIS_MIN_REPLICAS with Cluster', { redis: { url: '', clusterNodes: 'redis-0:6379', minReplicas: 1 } }],
    ['a URL key without the existing Secret', { redis: { url: '', existingSecretUrlKey: 'REDIS_URL' } }],
    ['an unknown Recall region', valuesAt('relay.recallRegion', 'mars-1')],
    ['an unknown log level', valuesAt('relay.logLevel', 'verbose')],
    ['a delivery timeout the relay refuses', valuesAt('relay.deliveryTimeoutMs', 50)],
    ['a misspelt key', valuesAt('web.replicaz', 3)],
    ['an unknown top-level key', valuesAt('redisUrl', 'redis://r:6379')],
    ['a zero grace period', valuesAt('terminationGracePeriodSeconds', 0)],
    ['a fractional grace period', valuesAt('terminationGracePeriodSeconds', 60.5)],
    ['HPA and KEDA on the workers at once', { worker: { autoscaling: { enabled: true }, keda: { enabled: true } } }],
    ['the admin API with a short token', { admin: { enabled: true }, secrets: { adminToken: 'short' } }],
    ['the admin API on the webhook port', { admin: { enabled: true, port: 8080 }, secrets: { adminToken: '0123456789abcdef0123' } }],
    ['a Secret Token without the Recall app id', valuesAt('relay.recallZoomOauthAppId', '')],
    ['a chart-managed variable in relay.extraEnv', valuesAt('relay.extraEnv', { REDIS_URL: 'redis://other:6379' })],
    ['an undocumented variable in relay.extraEnv', valuesAt('relay.extraEnv', { DELIVERY_CONCURENCY: 32 })],
    ['a chart-managed variable in secrets.extraEnv', valuesAt('secrets.extraEnv', { ZOOM_WEBHOOK_SECRET_TOKEN: 'x' })],
    ['an object as an environment value', valuesAt('relay.extraEnv', { DELIVERY_CONCURRENCY: { n: 32 } })],
    ['an Ingress without a host', { ingress: { enabled: true, host: '' } }],
    ['an Ingress host with a scheme', { ingress: { enabled: true, host: 'https://relay.example.com' } }],
    ['a PodDisruptionBudget with no bound', { web: { pdb: { enabled: true, minAvailable: '', maxUnavailable: '' } } }],
    ['a malformed image digest', valuesAt('image.digest', 'sha256:abc')],
    ['an unknown resource name', valuesAt('web.resources.requests', { cpus: '1' })],
    ['a malformed memory quantity', valuesAt('worker.resources.limits', { memory: '512 MB' })],
    ['an unknown Service type', valuesAt('service.type', 'ExternalName')],
    ['a malformed scrape interval', valuesAt('metrics.serviceMonitor.interval', '30 seconds')],
    ['a KEDA threshold that is not a number', valuesAt('worker.keda.threshold', 'many')],
    ['a missing image repository', valuesAt('image.repository', '')]
  ]
  for (const [what, values] of bad) {
    const valid = validate(mergeValues(base, values))
    t.notOk(valid, `refused: ${what}`)
  }
  const good: Array<[string, Json]> = [
    ['Sentinel with REDIS_MIN_REPLICAS', { redis: { url: '', sentinels: 's-0:26379, s-1:26379,[fd00::1]:26379', minReplicas: 1 } }],
    ['a percentage PodDisruptionBudget', { worker: { pdb: { minAvailable: '50%' } } }],
    ['numbers and booleans in extraEnv', { relay: { extraEnv: { DELIVERY_CONCURRENCY: 64, DEAUTHORIZATION_CLEANUP: false } } }],
    ['KEDA able to scale to zero', { worker: { keda: { enabled: true, minReplicas: 0 } } }],
    ['an image by digest', valuesAt('image.digest', `sha256:${'a'.repeat(64)}`)],
    ['the admin API with a long token', { admin: { enabled: true }, secrets: { adminToken: '0123456789abcdef' } }]
  ]
  for (const [what, values] of good) t.ok(validate(mergeValues(base, values)), `accepted: ${what}`)
})

t.test('appsConfig in values.yaml and every ci/ file is valid against schema/apps.schema.json (the relay\'s own check)', async t => {
  const problems = (text: string): string[] => validateAppsDocument(parseAllDocuments(text)[0]?.toJS()).map(p => `${formatPath(p.path)}: ${p.message}`)
  const withApps = ['values.yaml', ...ciFiles].map(file => [file, file === 'values.yaml' ? defaults : ciValues(file)] as const)
    .filter(([, values]) => typeof values.appsConfig === 'string' && values.appsConfig !== '')
  t.ok(withApps.some(([file]) => file === 'multi-app-existing-secret.yaml'), 'the multi-app example holds an apps config')
  for (const [file, values] of withApps) t.same(problems(values.appsConfig as string), [], `${file}: appsConfig`)
  t.match(problems('apps:\n  - { name: sales, secretToken: s, destinations: [{ type: http, url: "https://x.example", event: { include: [meeting.*] } }] }\n'),
    ['apps[0].destinations[0].event: is not a known key; did you mean `events`?'], 'a misspelt key in an apps config is refused')
})

t.test('Chart.yaml', async t => {
  const chart = readYaml<Json>(join(CHART, 'Chart.yaml'))
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.match(chart, { apiVersion: 'v2', name: 'zoom-webhook-relay', type: 'application' })
  t.match(chart.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'version is SemVer 2')
  t.equal(chart.appVersion, pkg.version, 'appVersion is the relay version (package.json), the default image tag')
  t.equal(chart.version, pkg.version, 'the chart is released with the relay: version = package.json version (bump both)')
  for (const key of ['home', 'sources', 'icon']) t.notMatch(JSON.stringify(chart[key] ?? ''), /example\.(com|org)|\/example\//, `${key}: no placeholder URL presented as real`)
  const values = readYaml<{ image: { repository: string } }>(join(CHART, 'values.yaml'))
  t.notMatch(values.image.repository, /example/, 'image.repository: no placeholder registry; the default is the local build\'s name')
  t.equal(values.image.repository, 'zoom-webhook-relay', 'the name README\'s docker build gives it')
  t.type(chart.description, 'string')
  t.type(chart.kubeVersion, 'string')
  t.notOk('dependencies' in chart, 'no subchart: Redis is external')
})

t.test('templates: every file expected, every include defined, every value path real, every value used', async t => {
  t.same(templateFiles, [
    'NOTES.txt', '_helpers.tpl', 'configmap.yaml', 'ingress.yaml', 'secret.yaml', 'service.yaml', 'servicemonitor.yaml',
    'web-deployment.yaml', 'web-hpa.yaml', 'web-pdb.yaml', 'worker-deployment.yaml', 'worker-hpa.yaml', 'worker-keda.yaml', 'worker-pdb.yaml'
  ], 'the chart has exactly these templates (update this list with a new one)')

  const defined = new Set([...allTemplates.matchAll(/\{\{-? define "([^"]+)"/g)].map(m => m[1] as string))
  const included = new Set([...allTemplates.matchAll(/(?:include|template) "([^"]+)"/g)].map(m => m[1] as string))
  t.same([...included].filter(name => !defined.has(name)), [], 'every included template is defined')
  t.same([...defined].filter(name => !included.has(name)), [], 'every defined template is used')

  for (const file of templateFiles.filter(f => f.endsWith('.yaml'))) {
    const text = templateText(file)
    t.match(text, /include "zwr\.(labels|deployment|hpa|pdb)"/, `${file}: carries the chart's labels`)
    t.notMatch(text, /\t/, `${file}: no tabs`)
  }

  // Value paths in the templates, through the aliases they use ($v := .Values, $values := index $root.Values "web"|"worker", …).
  const components = ['web', 'worker']
  const aliases: Array<[RegExp, string[]]> = [
    [/(?:\$root|\$)?\.Values((?:\.[A-Za-z]\w*)+)/g, ['']],
    [/\$v((?:\.[A-Za-z]\w*)+)/g, ['']],
    [/\$values((?:\.[A-Za-z]\w*)+)/g, components],
    [/\$s((?:\.[A-Za-z]\w*)+)/g, ['secrets']],
    [/\$autoscaling((?:\.[A-Za-z]\w*)+)/g, components.map(c => `${c}.autoscaling`)],
    [/\$pdb((?:\.[A-Za-z]\w*)+)/g, components.map(c => `${c}.pdb`)]
  ]
  const declared = [...allTemplates.matchAll(/(\$\w+) :?= \(?(?:index \$root\.Values|\.Values)/g)].map(m => m[1] as string)
  t.same([...new Set(declared)].filter(name => !['$v', '$values', '$s', '$autoscaling', '$pdb'].includes(name)), [], 'every alias of .Values is known to this test')
  const referenced = new Set<string>()
  for (const [pattern, prefixes] of aliases) {
    for (const match of allTemplates.matchAll(pattern)) {
      for (const prefix of prefixes) referenced.add(`${prefix}${match[1] as string}`.replace(/^\./, ''))
    }
  }
  const missing = [...referenced].filter(path => at(defaults, path) === undefined)
  t.same(missing, [], 'every value path a template reads exists in values.yaml (and so in the schema)')

  // A value is used when a template reads it or a map that holds it (resources, securityContext, … go whole through toYaml).
  const leaves: string[] = []
  const walk = (node: unknown, path: string): void => {
    if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.keys(node).length > 0) {
      for (const [key, value] of Object.entries(node)) walk(value, path === '' ? key : `${path}.${key}`)
    } else {
      leaves.push(path)
    }
  }
  walk(defaults, '')
  const used = (leaf: string): boolean => [...referenced].some(path => leaf === path || leaf.startsWith(`${path}.`))
  t.ok(leaves.length > 60, `${leaves.length} values`)
  t.same(leaves.filter(leaf => !used(leaf)), [], 'every value in values.yaml is read by a template')
})

t.test('environment: the chart sets only documented variables, and relay.extraEnv offers every other one', async t => {
  const documented = documentedNames()
  const helpers = templateText('_helpers.tpl')
  const envBlock = helpers.slice(helpers.indexOf('define "zwr.env"'), helpers.indexOf('{{- end -}}', helpers.indexOf('define "zwr.env"')))
  const plain = new Set([...envBlock.matchAll(/- name: ([A-Z][A-Z0-9_]+)/g)].map(m => m[1] as string))
  const secret = new Set([...templateText('secret.yaml').matchAll(/set \$data "([A-Z][A-Z0-9_]+)"/g)].map(m => m[1] as string))
  t.ok(plain.size >= 10 && secret.size >= 5, `${plain.size} plain and ${secret.size} secret variables found`)
  t.same([...plain, ...secret].filter(name => !documented.has(name)), [], 'every variable the chart sets is in the README\'s configuration table')
  for (const name of ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER_NAME', 'REDIS_CLUSTER_NODES']) t.ok(plain.has(name) || secret.has(name), `the chart can set ${name}`)

  const properties = schema.properties as Json
  const extraEnv = at(properties, 'relay.properties.extraEnv.propertyNames.enum') as string[]
  const managed = at(properties, 'secrets.properties.extraEnv.propertyNames.not.enum') as string[]
  t.same([...managed].sort(), [...new Set([...plain, ...secret])].sort(), 'the schema\'s list of chart-managed variables is what the templates set')
  // REDIS_DATA_DIR is for the embedded redis-server, which the image does not have.
  t.same([...extraEnv, ...managed, 'REDIS_DATA_DIR'].sort(), [...documented].sort(), 'every documented variable is either set by the chart or allowed in relay.extraEnv')

  t.equal(at(defaults, 'relay.deliveryTimeoutMs'), 10000, 'DELIVERY_TIMEOUT_MS default as documented')
  t.equal(at(defaults, 'relay.shutdownTimeoutMs'), 25000, 'SHUTDOWN_TIMEOUT_MS default as documented')
  t.equal(at(defaults, 'redis.sentinelMasterName'), 'mymaster', 'REDIS_SENTINEL_MASTER_NAME default as documented')
})

t.test('termination grace period: above preStop + delivery + shutdown everywhere, and enforced when rendering', async t => {
  const rule = (values: Json): boolean => (at(values, 'terminationGracePeriodSeconds') as number) * 1000 >
    (at(values, 'web.preStopSleepSeconds') as number) * 1000 + (at(values, 'relay.deliveryTimeoutMs') as number) + (at(values, 'relay.shutdownTimeoutMs') as number)
  t.equal(at(defaults, 'terminationGracePeriodSeconds'), 60, 'default 60 s')
  t.ok(rule(defaults), 'values.yaml keeps the rule')
  for (const file of ciFiles) t.ok(rule(ciValues(file)), `ci/${file} keeps the rule`)
  const helpers = templateText('_helpers.tpl')
  t.match(helpers, /mul \$v\.web\.preStopSleepSeconds 1000\) \$v\.relay\.deliveryTimeoutMs \$v\.relay\.shutdownTimeoutMs/, 'the template computes the same sum')
  t.match(helpers, /if le \(mul \$v\.terminationGracePeriodSeconds 1000\) \$needMs -\}\}\n\{\{- fail/, 'and fails the render when the grace period is not above it')
  for (const file of ['web-deployment.yaml', 'worker-deployment.yaml']) t.match(templateText(file), /include "zwr\.validate"/, `${file} runs the checks`)
})

t.test('pods: non-root, read-only, no capabilities, RuntimeDefault seccomp, probes, /tmp, checksum', async t => {
  t.match(defaults.podSecurityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } })
  t.match(defaults.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
  const deployment = templateText('_helpers.tpl')
  for (const must of ['path: /healthz', 'path: /readyz', 'port: {{ ternary "http" "metrics" $web }}', 'mountPath: /tmp', 'emptyDir:', 'checksum/config: {{ $root.Values.appsConfig | sha256sum }}',
    'args: [{{ $component | quote }}]', 'automountServiceAccountToken: false', 'terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}']) {
    t.ok(deployment.includes(must), `deployment template: ${must}`)
  }
  t.match(templateText('web-deployment.yaml'), /"component" "web"/)
  t.match(templateText('worker-deployment.yaml'), /"component" "worker"/)
  t.match(templateText('worker-keda.yaml'), /kind: ScaledObject[\s\S]*type: prometheus/, 'optional KEDA ScaledObject with the Prometheus scaler')
  t.equal(at(defaults, 'worker.keda.enabled'), false, 'KEDA is off by default')
  t.match(at(defaults, 'worker.keda.query'), /zoom_relay_queue_jobs\{state="waiting"\}/)
  t.match(templateText('servicemonitor.yaml'), /apiVersion: monitoring\.coreos\.com\/v1\nkind: ServiceMonitor/)
  t.match(templateText('_helpers.tpl'), /prometheus\.io\/scrape: "true"/, 'scrape annotations without a ServiceMonitor')
})

t.test('NOTES.txt says which URL to give Zoom', async t => {
  const notes = templateText('NOTES.txt')
  t.match(notes, /https:\/\/%s" \.Values\.ingress\.host/, 'the Ingress host when there is one')
  t.match(notes, /\{\{ \$base \}\}\/zoom\/webhook\n/, 'the env-configured app')
  t.match(notes, /\{\{ \$base \}\}\/zoom\/webhook\/\{\{ \.name \}\}/, 'each app of appsConfig')
  t.match(notes, /port-forward svc\//, 'a port-forward hint without an Ingress')
})

const helmMissing = 'helm is not installed here: where it is, this test runs `helm lint helm/zoom-webhook-relay -f helm/zoom-webhook-relay/ci/<file>` and `helm template` for each file (docs/deployment.md)'

t.test('helm lint and helm template for every ci/ values file', { skip: onPath('helm') ? false : helmMissing }, async t => {
  const documented = documentedNames()
  for (const file of ciFiles) {
    const values = join(CHART, 'ci', file)
    const lint = run('helm', ['lint', CHART, '-f', values])
    t.equal(lint.status, 0, `helm lint ci/${file}: ${lint.stdout}${lint.stderr}`)
    const render = run('helm', ['template', 'relay', CHART, '--namespace', 'zoom-relay', '-f', values])
    t.equal(render.status, 0, `helm template ci/${file}: ${render.stderr}`)
    const objects = parseAllDocuments(render.stdout).map(doc => doc.toJS() as Json | null).filter((o): o is Json => o !== null)
    const kinds = objects.map(o => `${o.kind as string}/${at(o, 'metadata.name') as string}`)
    for (const must of ['Deployment/relay-zoom-webhook-relay-web', 'Deployment/relay-zoom-webhook-relay-worker', 'Service/relay-zoom-webhook-relay', 'PodDisruptionBudget/relay-zoom-webhook-relay-web']) {
      t.ok(kinds.includes(must), `ci/${file}: ${must}`)
    }
    const secret = objects.find(o => o.kind === 'Secret')
    for (const deployment of objects.filter(o => o.kind === 'Deployment')) {
      const name = at(deployment, 'metadata.name') as string
      const pod = at(deployment, 'spec.template.spec') as Json
      const container = (pod.containers as Json[])[0] as Json
      t.same(container.args, [name.endsWith('-web') ? 'web' : 'worker'], `${file} ${name}: role`)
      t.match(container, { securityContext: { readOnlyRootFilesystem: true }, livenessProbe: { httpGet: { path: '/healthz' } }, readinessProbe: { httpGet: { path: '/readyz' } } })
      t.ok((pod.terminationGracePeriodSeconds as number) > 35, `${file} ${name}: grace period`)
      t.type(at(deployment, 'spec.template.metadata.annotations.checksum/config'), 'string')
      const env = new Set([...(container.env as Array<{ name: string }>).map(e => e.name), ...Object.keys((secret?.stringData ?? {}) as Json)])
      t.same([...env].filter(n => !documented.has(n) && !at(readYaml<Json>(values), `secrets.extraEnv.${n}`)), [], `${file} ${name}: documented variables only`)
      const targets = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter(n => env.has(n))
      t.ok(targets.length === 1 || (targets.length === 0 && at(readYaml<Json>(values), 'secrets.existingSecret')), `${file} ${name}: one Redis target (${targets.join(', ')})`)
    }
  }
  const refused: Array<[string, string[]]> = [
    ['a grace period not above the delivery + shutdown timeouts', ['--set', 'terminationGracePeriodSeconds=30']],
    ['no Zoom app at all', ['--set', 'secrets.zoomWebhookSecretToken=']],
    ['the admin API without a token', ['--set', 'admin.enabled=true']]
  ]
  for (const [what, args] of refused) {
    const render = run('helm', ['template', 'relay', CHART, '-f', join(CHART, 'ci/default-values.yaml'), ...args])
    t.not(render.status, 0, `refused: ${what}`)
  }
})
