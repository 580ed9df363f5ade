import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { RECALL_REGIONS, type AppConfig, type Config } from '../../src/config/config.js'
import { EnvReader } from '../../src/config/env-reader.js'
import { ENV_APP_NAME, loadConfig, redactUrl } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/errors.js'
import { tempFile } from '../helpers/temp-file.js'

type Env = Record<string, string | undefined>

const BASE: Env = { ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-secret', RECALL_ZOOM_OAUTH_APP_ID: 'app-1' }
const ALLOWED_REGIONS = 'us-east-1, us-west-2, eu-central-1, ap-northeast-1'
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

/** The problems of the ConfigError `loadConfig(env)` throws; fails the test when it does not throw one. */
function problemsOf (env: Env): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    if (err.code !== 'ZR_CONFIG_INVALID') throw new Error(`unexpected code ${err.code}`)
    for (const p of err.problems) if (!err.message.includes(`\n  - ${p}`)) throw new Error(`message lacks "${p}"`)
    return [...err.problems]
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

function envApp (config: Config): AppConfig {
  const app = config.apps.find(a => a.name === ENV_APP_NAME)
  if (app === undefined) throw new Error('no env app')
  return app
}

const recallUrl = (env: Env): string | undefined => envApp(loadConfig({ ...BASE, ...env })).destinations[0]?.url

t.test('defaults', async t => {
  const config = loadConfig(BASE)
  t.equal(config.port, 8080)
  t.equal(config.metricsPort, 9464)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.logLevel, 'info')
  t.equal(config.redisPrefix, 'zoom-relay')
  t.equal(config.redisMinReplicas, 0)
  t.equal(config.signatureToleranceSeconds, 300)
  t.equal(config.bodyLimitBytes, 1_048_576)
  t.equal(config.enqueueTimeoutMs, 1500)
  t.ok(config.enqueueTimeoutMs < 3000, 'answers Zoom within its 3 s')
  t.equal(config.deliveryTimeoutMs, 10_000)
  t.equal(config.deliveryConcurrency, 16)
  t.equal(config.dedupWindowSeconds, 7200)
  t.strictSame(config.history, { retentionSeconds: 86_400, maxEvents: 500_000, bodyRetentionSeconds: 86_400, compressBodies: true }, 'event history: 24 h, 500,000 events, bodies as long, deflated')
  t.strictSame(config.retry, { attempts: 36, baseDelayMs: 1000, maxDelayMs: 3_600_000, retryAfterMaxMs: 3_600_000 })
  t.equal(config.admin, undefined, 'no admin server without ADMIN_TOKEN')
  t.strictSame(config.redis, { kind: 'embedded', dataDir: resolve('.data/redis') }, 'embedded Redis when REDIS_URL is unset')
  t.strictSame(config.apps, [{
    name: 'default',
    path: '/zoom/webhook',
    secretTokens: ['zoom-secret'],
    destinations: [{ name: 'recall', kind: 'recall', url: 'https://us-east-1.recall.ai/api/v2/zoom-oauth-apps/app-1/webhook', headers: {} }]
  }], 'one app, us-east-1, no API access, no OAuth, no clean-up')
  t.strictSame(loadConfig({ ...BASE, REDIS_DATA_DIR: '/var/lib/relay' }).redis, { kind: 'embedded', dataDir: '/var/lib/relay' })
})

t.test('values are trimmed; blank means unset', async t => {
  const config = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: '  zoom-secret\n', RECALL_ZOOM_OAUTH_APP_ID: ' app-1 ', PORT: ' 9000 ', HOST: '', LOG_LEVEL: '   ', REDIS_URL: ' ' })
  t.strictSame(envApp(config).secretTokens, ['zoom-secret'])
  t.equal(envApp(config).destinations[0]?.url, 'https://us-east-1.recall.ai/api/v2/zoom-oauth-apps/app-1/webhook')
  t.equal(config.port, 9000)
  t.equal(config.host, '0.0.0.0')
  t.equal(config.logLevel, 'info')
  t.equal(config.redis.kind, 'embedded')
  t.match(problemsOf({ ZOOM_WEBHOOK_SECRET_TOKEN: ' \t', RECALL_ZOOM_OAUTH_APP_ID: 'app-1' }), [/^ZOOM_WEBHOOK_SECRET_TOKEN is not set/])
})

t.test('every Recall region gives its own webhook URL', async t => {
  t.strictSame([...RECALL_REGIONS].sort(), ['ap-northeast-1', 'eu-central-1', 'us-east-1', 'us-west-2'])
  for (const region of RECALL_REGIONS) {
    t.equal(recallUrl({ RECALL_REGION: region }), `https://${region}.recall.ai/api/v2/zoom-oauth-apps/app-1/webhook`, region)
  }
})

t.test('RECALL_BASE_URL overrides the region; trailing slashes are dropped', async t => {
  const id = '/api/v2/zoom-oauth-apps/app-1/webhook'
  t.equal(recallUrl({ RECALL_BASE_URL: 'https://recall.example.com' }), `https://recall.example.com${id}`)
  t.equal(recallUrl({ RECALL_BASE_URL: 'https://recall.example.com/' }), `https://recall.example.com${id}`, 'one trailing slash')
  t.equal(recallUrl({ RECALL_BASE_URL: 'https://recall.example.com///' }), `https://recall.example.com${id}`, 'several trailing slashes')
  t.equal(recallUrl({ RECALL_BASE_URL: 'http://127.0.0.1:8081/proxy/' }), `http://127.0.0.1:8081/proxy${id}`, 'http, port and path prefix')
  t.equal(recallUrl({ RECALL_BASE_URL: 'https://recall.example.com', RECALL_REGION: 'eu-central-1' }), `https://recall.example.com${id}`, 'wins over RECALL_REGION')
  t.equal(recallUrl({ RECALL_ZOOM_OAUTH_APP_ID: 'a b/c' }), 'https://us-east-1.recall.ai/api/v2/zoom-oauth-apps/a%20b%2Fc/webhook', 'the app id is one path segment')
  for (const bad of ['recall.example.com', 'ftp://recall.example.com', 'https//x', '/api']) {
    t.match(problemsOf({ ...BASE, RECALL_BASE_URL: bad }), [new RegExp(`^RECALL_BASE_URL="${bad.replace(/[/.]/g, '\\$&')}" is not an absolute http\\(s\\) URL`)], bad)
  }
})

t.test('RECALL_API_KEY gives API access and turns the deauthorization clean-up on', async t => {
  const app = envApp(loadConfig({ ...BASE, RECALL_REGION: 'us-west-2', RECALL_API_KEY: 'rk-123' }))
  t.strictSame(app.destinations[0]?.api, { baseUrl: 'https://us-west-2.recall.ai', apiKey: 'rk-123', appId: 'app-1' })
  t.strictSame(app.deauthorization, { destinations: ['recall'], match: 'user' })
  t.equal(envApp(loadConfig({ ...BASE, RECALL_API_KEY: 'k', DEAUTHORIZATION_CLEANUP: 'false' })).deauthorization, undefined)
  t.match(problemsOf({ ...BASE, DEAUTHORIZATION_CLEANUP: 'yes' }), [/^DEAUTHORIZATION_CLEANUP="yes" is not one of true, false/])
})

t.test('ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: two tokens during a rotation, current first', async t => {
  t.strictSame(envApp(loadConfig({ ...BASE, ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: 'old-secret' })).secretTokens, ['zoom-secret', 'old-secret'])
  t.strictSame(envApp(loadConfig({ ...BASE, ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: '' })).secretTokens, ['zoom-secret'], 'blank: one token')
})

t.test('missing Zoom secret or Recall app id: the error names the variable', async t => {
  const empty = problemsOf({})
  t.equal(empty.length, 1)
  t.match(empty[0], /^ZOOM_WEBHOOK_SECRET_TOKEN is not set\. .*Secret Token.* Or set CONFIG_FILE/)
  t.match(problemsOf({ RECALL_ZOOM_OAUTH_APP_ID: 'app-1' }), [/^ZOOM_WEBHOOK_SECRET_TOKEN is not set \(RECALL_ZOOM_OAUTH_APP_ID is\)/])
  t.match(problemsOf({ ZOOM_WEBHOOK_SECRET_TOKEN: 's' }), [/^RECALL_ZOOM_OAUTH_APP_ID is not set\./])
  t.throws(() => loadConfig({}), { name: 'ConfigError', code: 'ZR_CONFIG_INVALID', message: /^Invalid configuration:\n {2}- ZOOM_WEBHOOK_SECRET_TOKEN/ })
})

t.test('RECALL_REGION must be a known region; the message lists them', async t => {
  for (const bad of ['us-east-2', 'US-EAST-1', 'eu', 'api']) {
    const problems = problemsOf({ ...BASE, RECALL_REGION: bad })
    t.equal(problems.length, 1, bad)
    t.match(problems[0], `RECALL_REGION="${bad}" is not one of ${ALLOWED_REGIONS}.`, bad)
  }
})

t.test('PORT and METRICS_PORT', async t => {
  for (const bad of ['http', '65536', '-1', '80.5', '1e3', '0x50', '8080abc', '99999999999999999999']) {
    t.match(problemsOf({ ...BASE, PORT: bad }), [`PORT="${bad}" is not a whole number between 0 and 65535`], `PORT=${bad}`)
    t.match(problemsOf({ ...BASE, METRICS_PORT: bad }), [`METRICS_PORT="${bad}" is not a whole number between 0 and 65535`], `METRICS_PORT=${bad}`)
  }
  t.equal(loadConfig({ ...BASE, PORT: '0' }).port, 0, '0: any free port')
  t.equal(loadConfig({ ...BASE, PORT: '65535' }).port, 65_535)
  t.equal(loadConfig({ ...BASE, PORT: '0', METRICS_PORT: '0' }).metricsPort, 0, 'both 0 is fine')
  t.match(problemsOf({ ...BASE, PORT: '9000', METRICS_PORT: '9000' }), [/^PORT and METRICS_PORT are both 9000/])
  t.match(problemsOf({ ...BASE, PORT: '9464' }), [/^PORT and METRICS_PORT are both 9464/], 'PORT on the default metrics port')
})

t.test('REDIS_URL', async t => {
  for (const url of ['redis://redis:6379', 'rediss://:pw@redis.example.com:6380/2', 'unix:///var/run/redis.sock']) {
    t.strictSame(loadConfig({ ...BASE, REDIS_URL: url }).redis, { kind: 'url', url }, url)
  }
  for (const bad of ['http://redis:6379', 'redis:6379', 'localhost', 'REDIS://redis:6379', 'tcp://redis:6379']) {
    t.match(problemsOf({ ...BASE, REDIS_URL: bad }), [`REDIS_URL="${bad}" must start with redis://, rediss:// or unix://.`], bad)
  }
  const [withPassword] = problemsOf({ ...BASE, REDIS_URL: 'https://user:hunter2@redis:6379' })
  t.match(withPassword, 'REDIS_URL="https://***@redis:6379"')
  t.notMatch(withPassword, 'hunter2', 'the password is not in the message')
  t.match(problemsOf({ ...BASE, REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 's:26379' }), [/^Set only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES/])
  t.match(problemsOf({ ...BASE, REDIS_MIN_REPLICAS: '1' }), [/^REDIS_MIN_REPLICAS needs REDIS_URL or REDIS_SENTINELS/], 'no WAIT on the embedded Redis')
})

t.test('REDIS_SENTINELS and REDIS_CLUSTER_NODES lists', async t => {
  t.strictSame(loadConfig({ ...BASE, REDIS_SENTINELS: 's1:26380, s2 ,[::1]:26381', REDIS_PASSWORD: 'pw' }).redis,
    { kind: 'sentinel', sentinels: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }, { host: '::1', port: 26381 }], name: 'mymaster', auth: { password: 'pw', tls: false } })
  t.strictSame(loadConfig({ ...BASE, REDIS_CLUSTER_NODES: 'n1,n2:7001', REDIS_TLS: 'true' }).redis,
    { kind: 'cluster', nodes: [{ host: 'n1', port: 6379 }, { host: 'n2', port: 7001 }], auth: { tls: true } })
  for (const bad of ['n1:0', 'n1:70000', 'n1:port', ',', 'a:b:c']) {
    t.match(problemsOf({ ...BASE, REDIS_CLUSTER_NODES: bad }), [`REDIS_CLUSTER_NODES="${bad}" must list host:port pairs`], bad)
  }
})

t.test('LOG_LEVEL', async t => {
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) t.equal(loadConfig({ ...BASE, LOG_LEVEL: level }).logLevel, level)
  for (const bad of ['verbose', 'INFO', 'warning', '30']) {
    t.match(problemsOf({ ...BASE, LOG_LEVEL: bad }), [`LOG_LEVEL="${bad}" is not one of trace, debug, info, warn, error, fatal, silent.`], bad)
  }
})

t.test('numeric limits: out of range or not a whole number, each named with its range', async t => {
  const cases: Array<[string, string, string]> = [
    ['RETRY_ATTEMPTS', '0', 'between 1 and 1000'],
    ['RETRY_ATTEMPTS', '1001', 'between 1 and 1000'],
    ['RETRY_BASE_DELAY_MS', '1.5', 'between 1 and 3600000'],
    ['RETRY_MAX_DELAY_MS', '0', 'between 1 and 86400000'],
    ['RETRY_AFTER_MAX_MS', '-1', 'between 0 and 86400000'],
    ['DELIVERY_TIMEOUT_MS', '99', 'between 100 and 120000'],
    ['DELIVERY_CONCURRENCY', '1001', 'between 1 and 1000'],
    ['BODY_LIMIT_BYTES', '1mb', 'between 1024 and 67108864'],
    ['ENQUEUE_TIMEOUT_MS', '3000', 'between 50 and 2500'],
    ['SIGNATURE_TOLERANCE_SECONDS', '0', 'between 1 and 86400'],
    ['DEDUP_WINDOW_SECONDS', '604801', 'between 0 and 604800'],
    ['COMPLETED_JOBS_KEPT', '9007199254740993', 'between 0 and 9007199254740991'],
    ['DEAD_LETTER_RETENTION_SECONDS', '59', 'between 60 and'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon', 'between 0 and 600000'],
    ['HTTP_MAX_CONNECTIONS', '0', 'between 1 and 1000000'],
    ['EVENT_RETENTION_SECONDS', '-1', 'between 0 and 31622400'],
    ['EVENT_RETENTION_MAX_EVENTS', '0', 'between 1 and 100000000'],
    ['EVENT_BODY_RETENTION_SECONDS', '1h', 'between 0 and 31622400']
  ]
  for (const [name, value, range] of cases) {
    const problems = problemsOf({ ...BASE, [name]: value })
    t.equal(problems.length, 1, `${name}=${value}: one problem`)
    t.match(problems[0], `${name}="${value}" is not a whole number ${range}`, `${name}=${value}`)
    t.match(problems[0], /\(default \d+\)\.$/, `${name}=${value}: names the default`)
  }
  const edges = loadConfig({ ...BASE, RETRY_ATTEMPTS: '1', ENQUEUE_TIMEOUT_MS: '2500', BODY_LIMIT_BYTES: '1024', RETRY_AFTER_MAX_MS: '0', DEDUP_WINDOW_SECONDS: '0' })
  t.strictSame([edges.retry.attempts, edges.enqueueTimeoutMs, edges.bodyLimitBytes, edges.retry.retryAfterMaxMs, edges.dedupWindowSeconds], [1, 2500, 1024, 0, 0], 'the bounds themselves are accepted')
})

t.test('several problems are reported at once', async t => {
  const problems = problemsOf({ ZOOM_WEBHOOK_SECRET_TOKEN: 's', RECALL_REGION: 'mars', PORT: 'x', LOG_LEVEL: 'loud', REDIS_URL: 'http://r', RETRY_ATTEMPTS: '0', ADMIN_TOKEN: 'short' })
  t.equal(problems.length, 7, problems.join('\n'))
  for (const name of ['RECALL_REGION', 'RECALL_ZOOM_OAUTH_APP_ID', 'PORT', 'LOG_LEVEL', 'REDIS_URL', 'RETRY_ATTEMPTS', 'ADMIN_TOKEN']) {
    t.ok(problems.some(p => p.startsWith(name)), `names ${name}`)
  }
})

t.test('a missing secret is reported even when another variable is wrong too', async t => {
  const problems = problemsOf({ RECALL_REGION: 'mars' })
  t.ok(problems.some(p => p.startsWith('RECALL_REGION')), 'names RECALL_REGION')
  t.ok(problems.some(p => p.startsWith('ZOOM_WEBHOOK_SECRET_TOKEN')), 'names ZOOM_WEBHOOK_SECRET_TOKEN')
})

t.test('ADMIN_TOKEN', async t => {
  t.strictSame(loadConfig({ ...BASE, ADMIN_TOKEN: 'x'.repeat(16), HOST: '127.0.0.1' }).admin, { token: 'x'.repeat(16), host: '127.0.0.1', port: 9465 })
  t.match(problemsOf({ ...BASE, ADMIN_TOKEN: 'x'.repeat(15) }), [/^ADMIN_TOKEN is shorter than 16 characters/])
})

t.test('bind addresses: the admin on loopback whatever HOST is, metrics following HOST unless METRICS_HOST says otherwise', async t => {
  const defaults = loadConfig({ ...BASE, ADMIN_TOKEN: 'x'.repeat(16) })
  t.equal(defaults.host, '0.0.0.0', 'webhooks on every interface (Zoom must reach them)')
  t.equal(defaults.admin?.host, '127.0.0.1', 'the admin on loopback by default, not HOST')
  t.equal(defaults.metricsHost, '0.0.0.0', 'metrics follow HOST (Prometheus keeps scraping)')
  t.equal(loadConfig({ ...BASE, HOST: '10.1.2.3' }).metricsHost, '10.1.2.3')
  const chosen = loadConfig({ ...BASE, ADMIN_TOKEN: 'x'.repeat(16), ADMIN_HOST: '0.0.0.0', METRICS_HOST: '127.0.0.1' })
  t.equal(chosen.admin?.host, '0.0.0.0', 'elsewhere only when set')
  t.equal(chosen.metricsHost, '127.0.0.1')
})

t.test('TRUSTED_PROXIES, OAUTH_STATE_SECRET and OAUTH_RATE_LIMIT_PER_MINUTE', async t => {
  const defaults = loadConfig(BASE)
  t.same(defaults.trustedProxies, [], 'no proxy trusted by default')
  t.equal(defaults.oauthStateSecret, undefined)
  t.equal(defaults.oauthRateLimitPerMinute, 30)
  t.same(loadConfig({ ...BASE, TRUSTED_PROXIES: ' 10.0.0.0/8, 127.0.0.1,::1, fd00::/8,loopback ' }).trustedProxies, ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8', 'loopback'])
  for (const bad of ['10.0.0.0/33', 'proxy.example.com', '*', '1.2.3.4/8/9', ',']) {
    t.match(problemsOf({ ...BASE, TRUSTED_PROXIES: bad }), [/^TRUSTED_PROXIES=.* must list IP addresses or CIDR ranges/], bad)
  }
  t.equal(loadConfig({ ...BASE, OAUTH_STATE_SECRET: 's'.repeat(32) }).oauthStateSecret, 's'.repeat(32))
  t.match(problemsOf({ ...BASE, OAUTH_STATE_SECRET: 'short' }), [/^OAUTH_STATE_SECRET is shorter than 32 characters/])
  t.match(problemsOf({ ...BASE, OAUTH_RATE_LIMIT_PER_MINUTE: '0' }), [/^OAUTH_RATE_LIMIT_PER_MINUTE="0"/])
})

t.test('redactUrl hides credentials', async t => {
  t.equal(redactUrl('redis://:s3cret@redis.internal:6379/0'), 'redis://***@redis.internal:6379/0')
  t.equal(redactUrl('rediss://default:s3cret@redis.example.com:6380'), 'rediss://***@redis.example.com:6380')
  t.equal(redactUrl('redis://user@host'), 'redis://***@host', 'a user name alone')
  t.equal(redactUrl('redis://redis:6379/0'), 'redis://redis:6379/0', 'nothing to hide')
  t.equal(redactUrl('unix:///var/run/redis.sock'), 'unix:///var/run/redis.sock')
  t.equal(redactUrl('redis://redis:6379/0?x=a@b'), 'redis://redis:6379/0?x=a@b', 'an @ after the path is not a credential')
})

t.test('redactUrl hides a password that contains "@"', async t => {
  const redacted = redactUrl('redis://user:p@ss@host:6379/0')
  t.equal(redacted, 'redis://***@host:6379/0', 'whole userinfo hidden')
  t.notMatch(redacted, 'ss@', 'no part of the password')
  t.equal(new URL('redis://user:p@ss@host:6379/0').hostname, 'host', 'WHATWG URL splits at the last "@" too')
  t.equal(redactUrl('redis://u:a@b@host?x=c@d'), 'redis://***@host?x=c@d', 'an @ in the query stays')
})

t.test('EnvReader: integer, oneOf, baseUrl, string', async t => {
  const read = new EnvReader({ N: '007', BIG: '1'.repeat(20), U: 'https://x.example//', S: '  v  ', E: '' })
  t.equal(read.integer('N', 1, 0), 7, 'leading zeros')
  t.equal(read.integer('MISSING', 42, 0), 42, 'fallback')
  t.equal(read.integer('BIG', 3, 0), 3, 'unsafe integer: fallback and a problem')
  t.equal(read.baseUrl('U'), 'https://x.example')
  t.equal(read.baseUrl('MISSING'), undefined)
  t.equal(read.string('S'), 'v')
  t.equal(read.string('E'), undefined)
  t.equal(read.oneOf('MISSING', ['a', 'b'], 'b'), 'b')
  t.equal(read.problems.length, 1)
  t.match(read.problems[0], /^BIG="1{20}" is not a whole number between 0 and 9007199254740991/)
})

t.test('CONFIG_FILE: the YAML fixture, with ${VAR} substitution', async t => {
  const env: Env = { CONFIG_FILE: fixture('apps.yaml'), SALES_SECRET: 'sales-s', SALES_RECALL_APP_ID: 'sales-app', SUPPORT_SECRET: 'sup-new', SUPPORT_SECRET_PREVIOUS: 'sup-old' }
  const config = loadConfig(env)
  t.strictSame(config.apps, [
    {
      name: 'sales',
      path: '/zoom/webhook/sales',
      secretTokens: ['sales-s'],
      destinations: [{ name: 'recall', kind: 'recall', url: 'https://eu-central-1.recall.ai/api/v2/zoom-oauth-apps/sales-app/webhook', headers: {} }]
    },
    {
      name: 'support_team-2',
      path: '/zoom/webhook/support_team-2',
      secretTokens: ['sup-new', 'sup-old'],
      destinations: [
        { name: 'recall-us', kind: 'recall', url: 'https://recall.example.com/api/v2/zoom-oauth-apps/5f2c1a3e-8b7d-4c1a-9e2f-0a1b2c3d4e5f/webhook', headers: {} },
        { name: 'attendee', kind: 'attendee', url: 'https://attendee.example.com/external_webhooks/zoom/oauth_apps/zoa_abc123', headers: {}, attendeeConnection: { isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: false } },
        { name: 'audit', kind: 'http', url: 'https://audit.example.com/zoom/hooks?team=support', headers: {} }
      ]
    },
    {
      name: '7',
      path: '/zoom/webhook/7',
      secretTokens: ['literal-secret-7'],
      destinations: [{ name: 'recall', kind: 'recall', url: 'https://ap-northeast-1.recall.ai/api/v2/zoom-oauth-apps/r7/webhook', headers: {} }]
    }
  ])
  t.equal(config.port, 8080, 'the rest still comes from the environment')

  const rel = relative(process.cwd(), fixture('apps.yaml'))
  t.equal(loadConfig({ ...env, CONFIG_FILE: rel }).apps.length, 3, 'a relative path is resolved against the working directory')

  const missing = problemsOf({ ...env, SALES_SECRET: undefined, SUPPORT_SECRET_PREVIOUS: '' })
  t.ok(missing.includes('CONFIG_FILE apps[0].secretToken refers to ${SALES_SECRET}, which is not set. Export SALES_SECRET or change the file.'), missing.join('\n'))
  t.ok(missing.includes('CONFIG_FILE apps[1].secretTokens[1] refers to ${SUPPORT_SECRET_PREVIOUS}, which is not set. Export SUPPORT_SECRET_PREVIOUS or change the file.'), 'an empty variable counts as missing')
})

t.test('CONFIG_FILE: the JSON fixture', async t => {
  const config = loadConfig({ CONFIG_FILE: fixture('apps.json'), MARKETING_SECRET: 'mk' })
  t.strictSame(config.apps.map(a => [a.name, a.path, a.secretTokens, a.destinations.map(d => [d.name, d.kind, d.url])]), [
    ['marketing', '/zoom/webhook/marketing', ['mk'], [
      ['recall', 'recall', 'https://us-west-2.recall.ai/api/v2/zoom-oauth-apps/m-1/webhook'],
      ['mirror', 'http', 'http://localhost:9000/mirror']
    ]],
    ['engineering', '/zoom/webhook/engineering', ['eng-current', 'eng-previous'], [
      ['attendee', 'attendee', 'https://app.attendee.dev/external_webhooks/zoom/oauth_apps/zoa_eng']
    ]]
  ])
})

t.test('CONFIG_FILE next to the env app; "default" is taken by it', async t => {
  const config = loadConfig({ ...BASE, CONFIG_FILE: fixture('apps.json'), MARKETING_SECRET: 'mk' })
  t.strictSame(config.apps.map(a => a.name), ['default', 'marketing', 'engineering'])
  const file = tempFile(t, 'default.yaml', 'apps:\n  - { name: default, secretToken: s, destinations: [{ type: recall, appId: a }] }\n')
  t.match(problemsOf({ ...BASE, CONFIG_FILE: file }), [/^CONFIG_FILE: app name "default" is used twice \("default" is the app configured from ZOOM_WEBHOOK_SECRET_TOKEN\)\. Rename one\./])
  t.equal(loadConfig({ CONFIG_FILE: file }).apps[0]?.path, '/zoom/webhook/default', 'without the env app, "default" is an ordinary name')
})

t.test('CONFIG_FILE in generated temp files', async t => {
  const dir = mkdtempSync(resolve(tmpdir(), 'zr-load-config-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let n = 0
  const write = (yaml: string): string => tempFile(t, `apps-${n++}.yaml`, yaml)
  /** One app named sales whose other keys are `rest` (a YAML flow mapping body). */
  const oneApp = (rest: string): string => write(`apps:\n  - { name: sales, ${rest} }\n`)
  const load = (file: string, env: Env = {}): Config => loadConfig({ CONFIG_FILE: file, ...env })
  const dest = (d: string): string => oneApp(`secretToken: s, destinations: [${d}]`)

  await t.test('${VAR} substitution', async t => {
    const file = write([
      'apps:',
      '  - name: sales',
      '    secretTokens: ["${A}-${B}", "pre_${lower_name}_post"]',
      '    destinations:',
      '      - { type: http, url: "${HOOK_URL}" }',
      '      - { type: recall, name: r, appId: "$A", baseUrl: "https://${HOST_PART}.example.com" }'
    ].join('\n'))
    const app = load(file, { A: 'a: [1]', B: '#b', lower_name: 'x', HOOK_URL: 'https://hooks.example.com/z', HOST_PART: 'recall' }).apps[0]
    t.strictSame(app?.secretTokens, ['a: [1]-#b', 'pre_x_post'], 'several references in one string; values are not re-parsed as YAML')
    t.equal(app?.destinations[0]?.url, 'https://hooks.example.com/z')
    t.equal(app?.destinations[1]?.url, 'https://recall.example.com/api/v2/zoom-oauth-apps/%24A/webhook', '$A without braces is literal')
    const problems = problemsOf({ CONFIG_FILE: file, A: 'a', B: 'b', lower_name: 'x', HOST_PART: 'recall' })
    t.ok(problems.includes('CONFIG_FILE apps[0].destinations[0].url refers to ${HOOK_URL}, which is not set. Export HOOK_URL or change the file.'), problems.join('\n'))
  })

  await t.test('secretToken vs secretTokens', async t => {
    t.strictSame(load(oneApp('secretToken: one, destinations: [{ type: recall, appId: a }]')).apps[0]?.secretTokens, ['one'])
    t.strictSame(load(oneApp('secretTokens: [one, two], destinations: [{ type: recall, appId: a }]')).apps[0]?.secretTokens, ['one', 'two'])
    const tokenProblem = /^CONFIG_FILE apps\[0\]\.secretTokens?(\[\d\])?: must (list one or two non-empty Zoom Secret Tokens|be one non-empty Zoom Secret Token|be a non-empty Zoom Secret Token)/
    for (const bad of ['secretTokens: [a, b, c]', 'secretTokens: []', 'secretTokens: abc', 'secretToken: 12345', 'secretToken: ""', 'secretTokens: [a, ""]', 'secretTokens: [a, 2]', 'secretToken: [a]']) {
      t.match(problemsOf({ CONFIG_FILE: oneApp(`${bad}, destinations: [{ type: recall, appId: a }]`) }), [tokenProblem], bad)
    }
    t.match(problemsOf({ CONFIG_FILE: oneApp('destinations: [{ type: recall, appId: a }]') }), [tokenProblem], 'no token at all')
  })

  await t.test('app names', async t => {
    t.equal(load(write(`apps:\n  - { name: ${'a'.repeat(63)}, secretToken: s, destinations: [{ type: recall, appId: a }] }\n`)).apps[0]?.name, 'a'.repeat(63), '63 characters')
    for (const bad of ['Sales', '-sales', '_sales', 'sales team', 'sales/x', 'sales.x', 'a'.repeat(64), '""', '123e4', 'null', 'équipe']) {
      const file = write(`apps:\n  - { name: ${bad}, secretToken: s, destinations: [{ type: recall, appId: a }] }\n`)
      t.match(problemsOf({ CONFIG_FILE: file }), [/^CONFIG_FILE apps\[0\]\.name: must be lower-case letters, digits, "-" or "_" \(at most 63\)/], `name ${bad}`)
    }
    const twice = write('apps:\n  - { name: sales, secretToken: s, destinations: [{ type: recall, appId: a }] }\n  - { name: sales, secretToken: t, destinations: [{ type: recall, appId: b }] }\n')
    t.strictSame(problemsOf({ CONFIG_FILE: twice }), ['CONFIG_FILE: app name "sales" is used twice. Rename one.'])
  })

  await t.test('destinations', async t => {
    const url = (d: string): string | undefined => load(dest(d)).apps[0]?.destinations[0]?.url
    t.equal(url('{ type: recall, appId: r1 }'), 'https://us-east-1.recall.ai/api/v2/zoom-oauth-apps/r1/webhook', 'recall: default region')
    for (const region of RECALL_REGIONS) t.equal(url(`{ type: recall, appId: r1, region: ${region} }`), `https://${region}.recall.ai/api/v2/zoom-oauth-apps/r1/webhook`, `recall: ${region}`)
    t.equal(url('{ type: recall, appId: r1, baseUrl: "http://localhost:9/x//" }'), 'http://localhost:9/x/api/v2/zoom-oauth-apps/r1/webhook', 'recall: baseUrl')
    t.equal(url('{ type: attendee, appId: zoa_1, baseUrl: "https://attendee.internal:8000" }'), 'https://attendee.internal:8000/external_webhooks/zoom/oauth_apps/zoa_1', 'attendee')
    t.equal(url('{ type: http, url: "https://x.example/a?b=c" }'), 'https://x.example/a?b=c', 'http: verbatim')
    const flags = load(dest('{ type: attendee, appId: zoa_1, baseUrl: "https://a.example", isLocalRecordingTokenSupported: true }')).apps[0]?.destinations[0]
    t.strictSame(flags?.attendeeConnection, { isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: false })
    const two = load(dest('{ type: recall, appId: a, region: us-east-1 }, { type: recall, name: recall-eu, appId: b, region: eu-central-1 }')).apps[0]
    t.strictSame(two?.destinations.map(d => d.name), ['recall', 'recall-eu'], 'the name defaults to the type')

    const cases: Array<[string, string]> = [
      ['{ type: recall, appId: a, region: us-east-2 }', `CONFIG_FILE apps[0].destinations[0].region: must be one of ${ALLOWED_REGIONS}.`],
      ['{ type: recall }', 'CONFIG_FILE apps[0].destinations[0].appId: must be the Recall Zoom OAuth App id.'],
      ['{ type: recall, appId: "" }', 'CONFIG_FILE apps[0].destinations[0].appId: must be the Recall Zoom OAuth App id.'],
      ['{ type: recall, appId: a, baseUrl: "recall.ai" }', 'CONFIG_FILE apps[0].destinations[0].baseUrl: must be an absolute http(s) URL.'],
      ['{ type: attendee, appId: zoa_1 }', 'CONFIG_FILE apps[0].destinations[0].baseUrl: is required for attendee, e.g. https://app.attendee.dev or your self-hosted URL.'],
      ['{ type: attendee, baseUrl: "https://a.example" }', 'CONFIG_FILE apps[0].destinations[0].appId: must be the Attendee Zoom OAuth app id (zoa_…).'],
      ['{ type: http }', 'CONFIG_FILE apps[0].destinations[0].url: must be an absolute http(s) URL.'],
      ['{ type: http, url: "ftp://x.example" }', 'CONFIG_FILE apps[0].destinations[0].url: must be an absolute http(s) URL.'],
      ['{ type: sqs, url: "https://x.example" }', 'CONFIG_FILE apps[0].destinations[0].type: must be one of recall, attendee, http.'],
      ['{ type: Recall, appId: a }', 'CONFIG_FILE apps[0].destinations[0].type: must be one of recall, attendee, http.'],
      ['{ appId: a }', 'CONFIG_FILE apps[0].destinations[0].type: must be one of recall, attendee, http.'],
      ['recall', 'CONFIG_FILE apps[0].destinations[0]: must be an object with a "type" of recall, attendee or http.'],
      ['{ type: recall, appId: a }, { type: recall, appId: b }', 'CONFIG_FILE apps[0].destinations[1].name: "recall" is used twice in this app; give each destination its own name.'],
      ['{ type: http, name: "Bad Name", url: "https://x.example" }', 'CONFIG_FILE apps[0].destinations[0].name: must be lower-case letters, digits, "-" or "_".']
    ]
    for (const [d, problem] of cases) t.strictSame(problemsOf({ CONFIG_FILE: dest(d) }), [problem], d)
    t.match(problemsOf({ CONFIG_FILE: oneApp('secretToken: s, destinations: []') }), [/^CONFIG_FILE apps\[0\]\.destinations: must list at least one destination/])
    t.match(problemsOf({ CONFIG_FILE: oneApp('secretToken: s') }), [/^CONFIG_FILE apps\[0\]\.destinations: must list at least one destination/], 'no destinations key')
  })

  await t.test('problems in several apps are all reported', async t => {
    const file = write('apps:\n  - { name: Bad, secretToken: s, destinations: [{ type: recall, appId: a }] }\n  - { name: ok, secretTokens: [], destinations: [{ type: recall, appId: a }] }\n  - { name: ok2, secretToken: s, destinations: [{ type: pigeon }] }\n')
    const problems = problemsOf({ CONFIG_FILE: file, PORT: 'x' })
    t.equal(problems.length, 4, problems.join('\n'))
    t.match(problems, [/apps\[0\]\.name/, /apps\[1\]\.secretTokens/, /apps\[2\]\.destinations\[0\]\.type/, /^PORT="x"/])
  })

  await t.test('unreadable files and documents without apps', async t => {
    const missingFile = resolve(dir, 'nope.yaml')
    t.match(problemsOf({ CONFIG_FILE: missingFile }), [new RegExp(`^CONFIG_FILE="${missingFile.replace(/[.\\/]/g, '\\$&')}" cannot be read as YAML or JSON: .*ENOENT`)])
    t.match(problemsOf({ CONFIG_FILE: dir }), [/^CONFIG_FILE=".*" cannot be read as YAML or JSON: .*EISDIR/], 'a directory')
    t.match(problemsOf({ CONFIG_FILE: write('apps: [ { name: sales\n') }), [/^CONFIG_FILE=".*" cannot be read as YAML or JSON: /], 'broken YAML')
    t.match(problemsOf({ CONFIG_FILE: write('{"apps": [}') }), [/cannot be read as YAML or JSON/], 'broken JSON')
    for (const [name, body] of [['empty file', ''], ['apps: []', 'apps: []'], ['apps a mapping', 'apps: { sales: {} }'], ['a list', '- name: sales'], ['a scalar', 'hello'], ['no apps key', 'app: []']] as const) {
      t.match(problemsOf({ CONFIG_FILE: write(body) }), [/^CONFIG_FILE must have a non-empty "apps" list/], name)
    }
    t.match(problemsOf({ CONFIG_FILE: write('apps: [sales]') }), ['CONFIG_FILE apps[0]: must be an object with name, secretTokens and destinations.'])
    t.match(problemsOf({ CONFIG_FILE: missingFile, ZOOM_WEBHOOK_SECRET_TOKEN: '' }), [/cannot be read/], 'not also "ZOOM_WEBHOOK_SECRET_TOKEN is not set"')
  })
})

t.test('DEDUP_WINDOW_SECONDS must outlast SIGNATURE_TOLERANCE_SECONDS (a replay inside the window), or be 0', async t => {
  for (const [dedup, tolerance] of [['1', undefined], ['300', undefined], ['60', '60'], ['59', '60']] as const) {
    const problems = problemsOf({ ...BASE, DEDUP_WINDOW_SECONDS: dedup, ...(tolerance === undefined ? {} : { SIGNATURE_TOLERANCE_SECONDS: tolerance }) })
    t.equal(problems.length, 1, `${dedup} with a tolerance of ${tolerance ?? 300}: one problem`)
    t.match(problems[0], /^DEDUP_WINDOW_SECONDS=\d+ is not longer than SIGNATURE_TOLERANCE_SECONDS=\d+/, 'names both variables')
    t.match(problems[0], /or 0 to turn de-duplication off/, 'says how to fix it')
  }
  t.equal(loadConfig({ ...BASE, DEDUP_WINDOW_SECONDS: '301' }).dedupWindowSeconds, 301, 'longer than the tolerance')
  t.equal(loadConfig({ ...BASE, DEDUP_WINDOW_SECONDS: '2', SIGNATURE_TOLERANCE_SECONDS: '1' }).dedupWindowSeconds, 2)
  t.equal(loadConfig({ ...BASE, DEDUP_WINDOW_SECONDS: '0' }).dedupWindowSeconds, 0, '0 (off) stays allowed')
})

t.test('EVENT_BODY_RETENTION_SECONDS: at most EVENT_RETENTION_SECONDS, which is its default', async t => {
  const problems = problemsOf({ ...BASE, EVENT_RETENTION_SECONDS: '3600', EVENT_BODY_RETENTION_SECONDS: '3601' })
  t.equal(problems.length, 1)
  t.match(problems[0], /^EVENT_BODY_RETENTION_SECONDS=3601 is longer than EVENT_RETENTION_SECONDS=3600/, 'names both variables')
  t.match(problems[0], /Set it to at most 3600, or unset it/, 'says how to fix it')
  t.strictSame(loadConfig({ ...BASE, EVENT_RETENTION_SECONDS: '3600' }).history, { retentionSeconds: 3600, maxEvents: 500_000, bodyRetentionSeconds: 3600, compressBodies: true }, 'bodies as long as events by default')
  t.strictSame(loadConfig({ ...BASE, EVENT_RETENTION_SECONDS: '3600', EVENT_BODY_RETENTION_SECONDS: '600', EVENT_RETENTION_MAX_EVENTS: '1000', EVENT_BODY_COMPRESSION: 'off' }).history, { retentionSeconds: 3600, maxEvents: 1000, bodyRetentionSeconds: 600, compressBodies: false })
  t.strictSame(loadConfig({ ...BASE, EVENT_RETENTION_SECONDS: '0' }).history, { retentionSeconds: 0, maxEvents: 500_000, bodyRetentionSeconds: 0, compressBodies: true }, '0: keep only what is being delivered')
})

t.test('the .env.example placeholder is refused as a Secret Token', async t => {
  const problems = problemsOf({ ...BASE, ZOOM_WEBHOOK_SECRET_TOKEN: 'replace-with-your-zoom-secret-token' })
  t.equal(problems.length, 1)
  t.match(problems[0], /^ZOOM_WEBHOOK_SECRET_TOKEN is still the placeholder of \.env\.example\./)
  t.notMatch(problems[0], 'replace-with-your-zoom-secret-token', 'the value itself is not repeated')
  const previous = problemsOf({ ...BASE, ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS: 'replace-with-your-zoom-secret-token' })
  t.match(previous[0], /^ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS is still the placeholder/)
})
