// CONFIG_FILE against schema/apps.schema.json and the rules a schema cannot say: a table of bad
// files, each refused with a ConfigError whose message names the path, says what is wrong and
// how to fix it, and suggests the nearest known key for a misspelt one.
import t, { type Test } from 'tap'
import { RECALL_REGIONS, type Config } from '../../src/config/config.js'
import { appsSchema, nearestKey } from '../../src/config/apps-schema.js'
import { APP_NAME_PATTERN } from '../../src/config/config-file.js'
import { loadConfig, requireResolved } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/errors.js'
import { EVENT_PATTERN } from '../../src/store/event-filter.js'
import { configProblems } from '../helpers/config-problems.js'
import { tempFile } from '../helpers/temp-file.js'

type Env = Record<string, string | undefined>

let n = 0
const write = (t: Test, yaml: string): string => tempFile(t, `apps-${n++}.yaml`, yaml)

/** The problems of the ConfigError loading `yaml` throws; fails when it loads. */
const problemsOf = (file: string, env: Env = {}): string[] => configProblems(() => loadConfig({ CONFIG_FILE: file, ...env }), { mustFail: true })

/** One app `sales` whose destinations are `destinations` (YAML flow) and whose other keys are `rest`. */
const app = (destinations: string, rest = ''): string => `apps:\n  - { name: sales, secretToken: s, destinations: [${destinations}]${rest === '' ? '' : `, ${rest}`} }\n`
const RECALL = '{ type: recall, appId: r1 }'
const RECALL_KEY = '{ type: recall, appId: r1, apiKey: k }'
const HTTP = (extra = ''): string => `{ type: http, url: "https://x.example/h"${extra === '' ? '' : `, ${extra}`} }`
const ATTENDEE = (extra = ''): string => `{ type: attendee, appId: zoa_1, baseUrl: "https://a.example"${extra === '' ? '' : `, ${extra}`} }`
const OAUTH = 'oauth: { clientId: c, redirectUri: "https://relay.example/zoom/oauth/callback" }'

/** [what, file, the path the message must name, a fragment of what it says] */
const BAD: Array<[string, string, string, string | RegExp]> = [
  // Unknown keys at every level, with the nearest known one when there is one.
  ['unknown top-level key', `${app(RECALL)}version: 2\n`, 'version', /is not a known key here; remove it or use one of: apps\./],
  ['misspelt app key (oauht)', app(RECALL_KEY, 'oauht: { clientId: c, redirectUri: "https://r.example/cb" }'), 'apps[0].oauht', 'did you mean `oauth`?'],
  ['misspelt app key (destination)', 'apps:\n  - { name: sales, secretToken: s, destination: [{ type: recall, appId: r1 }] }\n', 'apps[0].destination', 'did you mean `destinations`?'],
  ['misspelt destination key (event)', app(HTTP('event: { include: [meeting.*] }')), 'apps[0].destinations[0].event', 'did you mean `events`?'],
  ['misspelt destination key (header)', app(HTTP('header: { x-api-key: k }')), 'apps[0].destinations[0].header', 'did you mean `headers`?'],
  ['unknown destination key far from any', app(HTTP('priority: high')), 'apps[0].destinations[0].priority', /is not a known key here; remove it or use one of: type, name, /],
  ['misspelt events key (includes)', app(HTTP('events: { includes: [meeting.*] }')), 'apps[0].destinations[0].events.includes', 'did you mean `include`?'],
  ['misspelt oauth key (clientID)', app(RECALL_KEY, 'oauth: { clientID: c, clientId: c, redirectUri: "https://r.example/cb" }'), 'apps[0].oauth.clientID', 'did you mean `clientId`?'],
  ['misspelt deauthorization key (clean-up)', app(RECALL_KEY, 'deauthorization: { clean-up: false }'), 'apps[0].deauthorization.clean-up', 'did you mean `cleanup`?'],
  ['misspelt retry key (attempt)', app(HTTP('retry: { attempt: 3 }')), 'apps[0].destinations[0].retry.attempt', 'did you mean `attempts`?'],
  ['misspelt circuitBreaker key (failure)', app(HTTP('circuitBreaker: { failure: 3 }')), 'apps[0].destinations[0].circuitBreaker.failure', 'did you mean `failures`?'],
  ['misspelt rateLimit key (persecond)', app(HTTP('rateLimit: { persecond: 3 }')), 'apps[0].destinations[0].rateLimit.persecond', 'did you mean `perSecond`?'],
  // Wrong types.
  ['app name a number', 'apps:\n  - { name: 123, secretToken: s, destinations: [{ type: recall, appId: r1 }] }\n', 'apps[0].name', 'must be lower-case letters, digits'],
  ['destinations a mapping', 'apps:\n  - { name: sales, secretToken: s, destinations: { type: recall } }\n', 'apps[0].destinations', 'must list at least one destination'],
  ['secretTokens a string', 'apps:\n  - { name: sales, secretTokens: abc, destinations: [{ type: recall, appId: r1 }] }\n', 'apps[0].secretTokens', 'must list one or two non-empty Zoom Secret Tokens'],
  ['timeoutMs a string', app(HTTP('timeoutMs: 5s')), 'apps[0].destinations[0].timeoutMs', 'must be a whole number of milliseconds'],
  ['concurrency 0', app(HTTP('concurrency: 0')), 'apps[0].destinations[0].concurrency', 'must be a whole number between 1 and 1000'],
  ['retry.attempts a fraction', app(HTTP('retry: { attempts: 1.5 }')), 'apps[0].destinations[0].retry.attempts', 'must be a whole number'],
  ['retry.baseDelayMs negative', app(HTTP('retry: { baseDelayMs: -1 }')), 'apps[0].destinations[0].retry.baseDelayMs', 'must be a whole number of milliseconds'],
  ['rateLimit.perSecond 0', app(HTTP('rateLimit: { perSecond: 0 }')), 'apps[0].destinations[0].rateLimit.perSecond', 'must be a whole number between 1 and 100000'],
  ['rateLimit without perSecond', app(HTTP('rateLimit: {}')), 'apps[0].destinations[0].rateLimit.perSecond', 'must be a whole number between 1 and 100000'],
  ['circuitBreaker true', app(HTTP('circuitBreaker: true')), 'apps[0].destinations[0].circuitBreaker', 'must be false (off) or an object'],
  ['circuitBreaker.maxProbeIntervalMs 0', app(HTTP('circuitBreaker: { maxProbeIntervalMs: 0 }')), 'apps[0].destinations[0].circuitBreaker.maxProbeIntervalMs', 'between 1000 and 3600000'],
  ['deauthorization.cleanup a string', app(RECALL_KEY, 'deauthorization: { cleanup: "no" }'), 'apps[0].deauthorization.cleanup', 'must be true or false'],
  ['attendee flag a string', app(ATTENDEE('isOnbehalfTokenSupported: "yes"')), 'apps[0].destinations[0].isOnbehalfTokenSupported', 'must be true or false'],
  // Missing fields.
  ['destination without type', app('{ appId: r1 }'), 'apps[0].destinations[0].type', 'must be one of recall, attendee, http'],
  ['recall without appId', app('{ type: recall }'), 'apps[0].destinations[0].appId', 'must be the Recall Zoom OAuth App id'],
  ['http without url', app('{ type: http }'), 'apps[0].destinations[0].url', 'must be an absolute http(s) URL'],
  ['attendee without baseUrl', app('{ type: attendee, appId: zoa_1 }'), 'apps[0].destinations[0].baseUrl', 'is required for attendee'],
  ['app without name', 'apps:\n  - { secretToken: s, destinations: [{ type: recall, appId: r1 }] }\n', 'apps[0].name', 'must be lower-case letters'],
  ['app without a secret token', 'apps:\n  - { name: sales, destinations: [{ type: recall, appId: r1 }] }\n', 'apps[0].secretTokens', 'must list one or two'],
  ['oauth without clientId', app(RECALL_KEY, 'oauth: { redirectUri: "https://r.example/cb" }'), 'apps[0].oauth.clientId', 'must be your Zoom app\'s Client ID'],
  // Bad URLs.
  ['http url of another scheme', app('{ type: http, url: "ftp://x.example" }'), 'apps[0].destinations[0].url', 'must be an absolute http(s) URL'],
  ['relative baseUrl', app('{ type: recall, appId: r1, baseUrl: recall.ai }'), 'apps[0].destinations[0].baseUrl', 'must be an absolute http(s) URL'],
  ['redirectUri not a URL', app(RECALL_KEY, 'oauth: { clientId: c, redirectUri: "not a url" }'), 'apps[0].oauth.redirectUri', 'absolute http(s) URL'],
  ['redirectUri on the relay\'s own route', app(RECALL_KEY, 'oauth: { clientId: c, redirectUri: "https://r.example/zoom/webhook/sales" }'), 'apps[0].oauth.redirectUri', 'collides with the relay\'s own routes'],
  // Bad event patterns.
  ['event name in capitals', app(HTTP('events: { include: [Meeting.Created] }')), 'apps[0].destinations[0].events.include[0]', 'must be a Zoom event name (meeting.created) or prefix (meeting.*)'],
  ['event prefix with two stars', app(HTTP('events: { exclude: [meeting.created, "meeting.**"] }')), 'apps[0].destinations[0].events.exclude[1]', 'must be a Zoom event name'],
  ['empty include list', app(HTTP('events: { include: [] }')), 'apps[0].destinations[0].events.include', 'must be a non-empty list'],
  // Names used twice.
  ['duplicate destination names', app(`${RECALL}, { type: recall, appId: r2 }`), 'apps[0].destinations[1].name', '"recall" is used twice in this app; give each destination its own name'],
  ['duplicate app names', `apps:\n  - { name: sales, secretToken: s, destinations: [${RECALL}] }\n  - { name: sales, secretToken: t, destinations: [${RECALL}] }\n`, '', 'app name "sales" is used twice. Rename one'],
  // Cross-field rules.
  ['oauth without an API key', app(RECALL, OAUTH), 'apps[0].oauth.destination', 'needs a recall or attendee destination with an apiKey'],
  ['oauth naming an http destination', app(`${RECALL_KEY}, ${HTTP('name: crm')}`, `oauth: { clientId: c, redirectUri: "https://relay.example/cb", destination: crm }`), 'apps[0].oauth.destination', '"crm" is not a recall or attendee destination of this app with an apiKey'],
  ['deauthorization naming an http destination', app(`${RECALL_KEY}, ${HTTP('name: crm')}`, 'deauthorization: { destination: crm }'), 'apps[0].deauthorization.destination', '"crm" is not a recall or attendee destination of this app with an apiKey'],
  ['deauthorization match unknown', app(RECALL_KEY, 'deauthorization: { match: everyone }'), 'apps[0].deauthorization.match', 'must be user (user-managed apps) or account (admin-managed apps)'],
  ['both Attendee flags false', app(ATTENDEE('isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: false')), 'apps[0].destinations[0]', 'Attendee refuses a connection with both flags false'],
  ['region on an attendee destination', app(ATTENDEE('region: us-east-1')), 'apps[0].destinations[0].region', 'is only for recall destinations'],
  ['unknown Recall region', app('{ type: recall, appId: r1, region: mars-1 }'), 'apps[0].destinations[0].region', `must be one of ${RECALL_REGIONS.join(', ')}`],
  ['headers on a recall destination', app('{ type: recall, appId: r1, headers: { x-a: b } }'), 'apps[0].destinations[0].headers', 'are only for http destinations'],
  ['apiKey on an http destination', app(HTTP('apiKey: k')), 'apps[0].destinations[0].apiKey', 'is only for recall and attendee destinations'],
  ['Attendee flag on a recall destination', app('{ type: recall, appId: r1, isOnbehalfTokenSupported: true }'), 'apps[0].destinations[0].isOnbehalfTokenSupported', 'is only for attendee destinations'],
  ['a reserved header', app(HTTP('headers: { X-Zm-Signature: forged }')), 'apps[0].destinations[0].headers.X-Zm-Signature', 'is not a header name the relay can set'],
  ['secretToken and secretTokens together', 'apps:\n  - { name: sales, secretToken: s, secretTokens: [t], destinations: [{ type: recall, appId: r1 }] }\n', 'apps[0].secretTokens', 'cannot be given together with secretToken']
]

t.test(`${BAD.length} bad configuration files: each refused, naming the path`, async t => {
  t.ok(BAD.length >= 25)
  for (const [what, yaml, path, says] of BAD) {
    const problems = problemsOf(write(t, yaml))
    const prefix = path === '' ? 'CONFIG_FILE: ' : `CONFIG_FILE ${path}: `
    const problem = problems.find(p => p.startsWith(prefix))
    t.ok(problem !== undefined, `${what}: names ${path === '' ? 'the file' : path} (got: ${problems.join(' | ')})`)
    t.match(problem ?? '', says, `${what}: says what is wrong`)
  }
})

t.test('every problem of a file is reported at once, with the environment\'s', async t => {
  const file = write(t, [
    'apps:',
    '  - name: sales',
    '    secretToken: s',
    '    oauht: {}',
    '    destinations:',
    '      - { type: http, url: "https://x.example", event: { include: [meeting.*] }, header: { a: b } }',
    '      - { type: recall, appId: r1, timeoutMs: 0 }',
    '  - { name: Support, secretToken: s, destinations: [{ type: recall, appId: r1 }] }'
  ].join('\n'))
  const problems = problemsOf(file, { PORT: 'x' })
  t.strictSame(problems, [
    'CONFIG_FILE apps[0].oauht: is not a known key; did you mean `oauth`?',
    'CONFIG_FILE apps[0].destinations[0].event: is not a known key; did you mean `events`?',
    'CONFIG_FILE apps[0].destinations[0].header: is not a known key; did you mean `headers`?',
    'CONFIG_FILE apps[0].destinations[1].timeoutMs: must be a whole number of milliseconds between 100 and 120000.',
    'CONFIG_FILE apps[1].name: must be lower-case letters, digits, "-" or "_" (at most 63), starting with a letter or digit.',
    'PORT="x" is not a whole number between 0 and 65535. Set it to such a number or unset it (default 8080).'
  ])
})

t.test('per-destination settings and Attendee\'s flags are loaded as typed', async t => {
  const file = write(t, app([
    HTTP('timeoutMs: 2500, concurrency: 4, retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 60000 }, rateLimit: { perSecond: 5 }, circuitBreaker: { failures: 3, maxProbeIntervalMs: 30000 }'),
    '{ type: recall, appId: r1, circuitBreaker: false, retry: { attempts: 2 } }',
    ATTENDEE(),
    ATTENDEE('name: onbehalf, isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: true')
  ].join(', ')))
  const [http, recall, attendee, onbehalf] = loadConfig({ CONFIG_FILE: file }).apps[0]?.destinations ?? []
  t.match(http, { timeoutMs: 2500, concurrency: 4, retry: { attempts: 5, baseDelayMs: 200, maxDelayMs: 60000 }, rateLimit: { perSecond: 5 }, circuitBreaker: { failures: 3, maxProbeIntervalMs: 30000 } })
  t.equal(recall?.circuitBreaker, false)
  t.strictSame(recall?.retry, { attempts: 2 })
  t.equal(recall?.timeoutMs, undefined, 'unset: the env value applies')
  t.strictSame(attendee?.attendeeConnection, { isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: false }, 'Attendee\'s own defaults')
  t.strictSame(onbehalf?.attendeeConnection, { isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: true })
})

t.test('the schema and the code agree on names, event patterns and regions', async t => {
  const schema = appsSchema() as { $schema: string, $defs: Record<string, { properties: Record<string, { pattern?: string, enum?: string[], items?: { pattern?: string } }> }> }
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
  t.equal(schema.$defs.app?.properties.name?.pattern, APP_NAME_PATTERN.source)
  t.equal(schema.$defs.destination?.properties.name?.pattern, APP_NAME_PATTERN.source)
  t.strictSame(schema.$defs.destination?.properties.region?.enum, [...RECALL_REGIONS])
  const events = (schema.$defs.destination?.properties.events as unknown as { properties: Record<string, { items: { pattern: string } }> }).properties
  t.equal(events.include?.items.pattern, EVENT_PATTERN.source)
  t.equal(events.exclude?.items.pattern, EVENT_PATTERN.source)
  // additionalProperties: false on every object schema.
  const open: string[] = []
  const walk = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null) return
    const s = node as Record<string, unknown>
    if (s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'))) {
      // An `if` only tests a value; it defines no keys.
      if (s.additionalProperties !== false && where !== '/$defs/destination/properties/headers' && !where.endsWith('/if')) open.push(where)
    }
    for (const [k, v] of Object.entries(s)) walk(v, `${where}/${k}`)
  }
  walk(schema, '')
  t.strictSame(open, [], 'additionalProperties: false everywhere (headers is a map of names)')
})

t.test('nearestKey', async t => {
  t.equal(nearestKey('event', ['events', 'headers']), 'events')
  t.equal(nearestKey('oauht', ['oauth', 'name']), 'oauth')
  t.equal(nearestKey('CLIENTID', ['clientId']), 'clientId', 'case does not count')
  t.equal(nearestKey('priority', ['type', 'name', 'url']), undefined)
  t.equal(nearestKey('ur', ['url', 'name']), 'url')
  t.equal(nearestKey('id', ['url']), undefined, 'short keys need a close match')
})

t.test('partial loads: unset variables and missing Zoom secrets are set aside, per destination', async t => {
  const file = write(t, [
    'apps:',
    '  - name: sales',
    '    secretToken: ${SALES_SECRET}',
    '    destinations:',
    '      - { type: recall, appId: r1, apiKey: "${SALES_RECALL_KEY}" }',
    '      - { type: http, name: crm, url: "${CRM_URL}" }'
  ].join('\n'))
  const full = problemsOf(file, { SALES_RECALL_KEY: 'k' })
  t.strictSame(full, [
    'CONFIG_FILE apps[0].secretToken refers to ${SALES_SECRET}, which is not set. Export SALES_SECRET or change the file.',
    'CONFIG_FILE apps[0].destinations[1].url refers to ${CRM_URL}, which is not set. Export CRM_URL or change the file.'
  ], 'a full load refuses them, once each (the empty values are not judged again)')

  const partial: Config = loadConfig({ CONFIG_FILE: file, SALES_RECALL_KEY: 'k' }, { mode: 'partial' })
  t.strictSame(partial.apps.map(a => [a.name, a.destinations.map(d => d.name)]), [['sales', ['recall', 'crm']]], 'the names are there')
  t.doesNotThrow(() => { requireResolved(partial, 'sales', 'recall') }, 'the recall destination has what it needs')
  t.throws(() => { requireResolved(partial, 'sales', 'crm') }, { name: 'ConfigError', message: /apps\[0\]\.destinations\[1\]\.url refers to \$\{CRM_URL\}/ })

  const noKey = loadConfig({ CONFIG_FILE: file }, { mode: 'partial' })
  t.throws(() => { requireResolved(noKey, 'sales', 'recall') }, { message: /apiKey refers to \$\{SALES_RECALL_KEY\}/ })

  t.strictSame(loadConfig({}, { mode: 'partial' }).apps, [], 'nothing configured: no apps, no error')
  const envOnly = loadConfig({ RECALL_ZOOM_OAUTH_APP_ID: 'a1', RECALL_API_KEY: 'rk' }, { mode: 'partial' })
  t.match(envOnly.apps, [{ name: 'default', secretTokens: [], destinations: [{ name: 'recall', api: { apiKey: 'rk', appId: 'a1' } }] }], 'no ZOOM_WEBHOOK_SECRET_TOKEN needed')
  const noAppId = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 's', RECALL_API_KEY: 'rk' }, { mode: 'partial' })
  t.throws(() => { requireResolved(noAppId, 'default', 'recall') }, { message: /RECALL_ZOOM_OAUTH_APP_ID is not set/ })
  t.throws(() => loadConfig({ CONFIG_FILE: write(t, app(HTTP('event: {}'))) }, { mode: 'partial' }), { name: 'ConfigError' }, 'a wrong value is still an error')

  const oauthFile = write(t, app(RECALL_KEY, 'oauth: { clientId: c, redirectUri: "${UNSET_REDIRECT}" }'))
  t.strictSame(problemsOf(oauthFile), ['CONFIG_FILE apps[0].oauth.redirectUri refers to ${UNSET_REDIRECT}, which is not set. Export UNSET_REDIRECT or change the file.'])
  t.equal(loadConfig({ CONFIG_FILE: oauthFile }, { mode: 'partial' }).apps[0]?.oauth, undefined, 'partial: no OAuth without its redirect URL')
})
