// `zoom-relay config check`: the configuration as the relay loads it, secrets masked; exit 78
// with every problem. In-process (src/cli/cli.ts), and once through the real CLI.
import t, { type Test } from 'tap'
import { runCli, runCliInProcess } from '../helpers/cli.js'
import { tempFile } from '../helpers/temp-file.js'

const SECRETS = {
  FULL_SALES_SECRET: 'sales-secret-0123456789abcdef',
  FULL_SALES_SECRET_OLD: 'old-sales-secret-42',
  FULL_RECALL_KEY: 'recall-api-key-abcdefghijklmnop',
  FULL_CRM_KEY: 'crm-key-zyxwvut',
  FULL_SUPPORT_SECRET: 'support-secret-777',
  FULL_ATTENDEE_KEY: 'attendee-key-qwertyuiop'
}
const EXAMPLE_SECRETS = { ZOOM_SALES_SECRET_TOKEN: 'example-sales-token-1', SALES_RECALL_ZOOM_OAUTH_APP_ID: 'rec-app-9', ZOOM_SUPPORT_SECRET_TOKEN: 'example-support-token-2' }

interface Report {
  ok: boolean
  configFile: string
  apps: Array<{
    name: string
    path: string
    secretTokens: string[]
    oauth: { registrar: string, installPath: string } | null
    deauthorization: { destination: string, match: string } | null
    destinations: Array<{ name: string, url: string, roles: string[], api: { apiKey: string } | null, headers: Record<string, string>, events: unknown, attendeeConnection?: unknown, settings: Record<string, unknown> }>
  }>
}

const noSecretIn = (t: Test, output: string, secrets: Record<string, string>): void => {
  for (const [name, value] of Object.entries(secrets)) {
    if (!/SECRET|KEY/.test(name)) continue
    t.notOk(output.includes(value), `${name}'s value is not printed`)
  }
}

t.test('the example and the full fixture: exit 0, every secret masked', async t => {
  const example = await runCliInProcess(['config', 'check'], { CONFIG_FILE: 'examples/apps.yaml', ...EXAMPLE_SECRETS })
  t.equal(example.status, 0, example.stderr)
  t.match(example.stdout, /app sales: POST \/zoom\/webhook\/sales/)
  t.match(example.stdout, /url: https:\/\/eu-central-1\.recall\.ai\/api\/v2\/zoom-oauth-apps\/rec-app-9\/webhook/)
  t.match(example.stdout, /events: include meeting\.\*, recording\.completed/)
  t.match(example.stdout, /secret tokens: \*\*\* \(21 chars\)/)
  t.match(example.stdout, /configuration OK: 2 apps/)
  noSecretIn(t, example.stdout + example.stderr, EXAMPLE_SECRETS)

  const env = { CONFIG_FILE: 'test/fixtures/apps-full.yaml', ...SECRETS, ZOOM_WEBHOOK_SECRET_TOKEN: 'env-app-secret-xyz', RECALL_ZOOM_OAUTH_APP_ID: 'env-app', RECALL_API_KEY: 'env-recall-key-123' }
  const text = await runCliInProcess(['config', 'check'], env)
  t.equal(text.status, 0, text.stderr)
  t.match(text.stdout, /key \*\*\* \(31 chars\)/)
  t.match(text.stdout, /headers: x-api-key \*\*\* \(15 chars\)/)
  t.match(text.stdout, /role: oauth registrar, deauthorization clean-up/)
  t.match(text.stdout, /timeoutMs 5000, concurrency 16 \(env\)/)
  noSecretIn(t, text.stdout + text.stderr, { ...SECRETS, ZOOM_WEBHOOK_SECRET_TOKEN: env.ZOOM_WEBHOOK_SECRET_TOKEN, RECALL_API_KEY: env.RECALL_API_KEY })

  const json = await runCliInProcess(['config', 'check', '--json'], env)
  t.equal(json.status, 0, json.stderr)
  noSecretIn(t, json.stdout, { ...SECRETS, ZOOM_WEBHOOK_SECRET_TOKEN: env.ZOOM_WEBHOOK_SECRET_TOKEN, RECALL_API_KEY: env.RECALL_API_KEY })
  const report = JSON.parse(json.stdout) as Report
  t.equal(report.ok, true)
  t.match(report.configFile, /test\/fixtures\/apps-full\.yaml$/)
  t.strictSame(report.apps.map(a => a.name), ['default', 'sales', 'support'])
  const [, sales, support] = report.apps
  t.strictSame(sales?.secretTokens, ['*** (29 chars)', '*** (19 chars)'])
  t.match(sales?.oauth, { registrar: 'recall', installPath: '/zoom/oauth/install?app=sales' })
  t.strictSame(sales?.deauthorization, { destinations: ['recall'], match: 'account' })
  t.match(sales?.destinations[0], {
    name: 'recall',
    url: 'https://eu-central-1.recall.ai/api/v2/zoom-oauth-apps/recall-app-1/webhook',
    roles: ['oauth registrar', 'deauthorization clean-up'],
    api: { baseUrl: 'https://eu-central-1.recall.ai', appId: 'recall-app-1', apiKey: '*** (31 chars)' },
    settings: {
      timeoutMs: { value: 5000, from: 'destination' },
      concurrency: { value: 16, from: 'env' },
      retry: { attempts: { value: 10, from: 'destination' }, baseDelayMs: { value: 1000, from: 'env' }, maxDelayMs: { value: 600000, from: 'destination' } },
      circuitBreaker: { value: false, from: 'destination' }
    }
  })
  t.match(sales?.destinations[1], {
    name: 'crm',
    api: null,
    roles: [],
    headers: { 'x-api-key': '*** (15 chars)' },
    events: { include: ['meeting.*'], exclude: ['meeting.deleted'] },
    settings: { concurrency: { value: 4, from: 'destination' }, rateLimit: { value: { perSecond: 3 } }, circuitBreaker: { value: { failures: 5, maxProbeIntervalMs: 60000 } } }
  })
  t.match(support?.destinations[0], { name: 'attendee', attendeeConnection: { isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: true }, api: { apiKey: '*** (23 chars)' } })
})

t.test('a bad file: exit 78 with every problem; --json lists them on stdout', async t => {
  const file = tempFile(t, 'bad.yaml', [
    'apps:',
    '  - name: sales',
    '    secretToken: ${UNSET_SALES_SECRET}',
    '    oauht: { clientId: c }',
    '    destinations:',
    '      - { type: http, url: "https://x.example", event: { include: [meeting.*] } }',
    '      - { type: attendee, appId: zoa_1, baseUrl: "https://a.example", isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: false }'
  ].join('\n'))
  const bad = await runCli(['config', 'check'], { CONFIG_FILE: file })
  t.equal(bad.status, 78)
  t.equal(bad.stdout, '')
  for (const expected of [
    /CONFIG_FILE apps\[0\]\.secretToken refers to \$\{UNSET_SALES_SECRET\}, which is not set/,
    /CONFIG_FILE apps\[0\]\.oauht: is not a known key; did you mean `oauth`\?/,
    /CONFIG_FILE apps\[0\]\.destinations\[0\]\.event: is not a known key; did you mean `events`\?/,
    /CONFIG_FILE apps\[0\]\.destinations\[1\]: Attendee refuses a connection with both flags false/
  ]) t.match(bad.stderr, expected)

  const json = await runCliInProcess(['config', 'check', '--json'], { CONFIG_FILE: file })
  t.equal(json.status, 78)
  const result = JSON.parse(json.stdout) as { ok: boolean, problems: string[] }
  t.equal(result.ok, false)
  t.equal(result.problems.length, 4, result.problems.join('\n'))

  const nothing = await runCliInProcess(['config', 'check'], {})
  t.equal(nothing.status, 78, 'no configuration at all is a problem for the relay')
  t.match(nothing.stderr, /ZOOM_WEBHOOK_SECRET_TOKEN is not set/)
  const extra = await runCliInProcess(['config', 'check', 'now'], {})
  t.equal(extra.status, 64)
})
