import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { configProblems } from '../helpers/config-problems.js'
import type { Config } from '../../src/config/config.js'
import { loadConfig } from '../../src/config/load-config.js'

const dir = mkdtempSync(join(tmpdir(), 'zr-config-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
let n = 0

/** Loads a config whose CONFIG_FILE holds one app with `body` indented under it. */
function load (appYaml: string, env: Record<string, string> = {}): Config {
  const file = join(dir, `apps-${n++}.yaml`)
  writeFileSync(file, `apps:\n  - name: sales\n    secretToken: s\n${appYaml.replace(/^/gm, '    ')}\n`)
  return loadConfig({ CONFIG_FILE: file, ...env })
}

const problems = (fn: () => unknown): string[] => configProblems(fn)

const RECALL_WITH_KEY = 'destinations:\n  - { type: recall, appId: r1, region: eu-central-1, apiKey: "${RECALL_KEY}" }'

t.test('http destinations: static headers (secrets from env), event filters', async t => {
  const config = load(`destinations:
  - type: http
    name: crm
    url: https://crm.example.com/hooks
    headers: { X-Api-Key: "\${CRM_KEY}", Authorization: "Bearer \${CRM_KEY}" }
    events: { include: [meeting.*], exclude: [meeting.deleted] }`, { CRM_KEY: 'k1' })
  const [crm] = config.apps[0]?.destinations ?? []
  t.same(crm?.headers, { 'x-api-key': 'k1', authorization: 'Bearer k1' }, 'names lower-cased, env substituted')
  t.same(crm?.events, { include: ['meeting.*'], exclude: ['meeting.deleted'] })
})

t.test('headers and filters that are refused, each named', async t => {
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", headers: { x-zm-signature: forged } }')), [/destinations\[0\]\.headers\.x-zm-signature: is not a header name the relay can set/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", headers: { Content-Length: "1" } }')), [/headers\.Content-Length/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", headers: { x-a: "line\\nbreak" } }')), [/headers\.x-a: must be a one-line string/])
  t.match(problems(() => load('destinations:\n  - { type: recall, appId: r, headers: { x-a: b } }')), [/headers: are only for http destinations/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", events: { include: [] } }')), [/events\.include: must be a non-empty list/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", events: { include: [Meeting.Created] } }')), [/events\.include/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", events: { only: [meeting.created] } }')), [/events\.only: is not a known key/])
  t.match(problems(() => load('destinations:\n  - { type: http, url: "https://x.example", apiKey: k }')), [/apiKey: is only for recall and attendee/])
})

t.test('API keys enable the deauthorization clean-up by default (match user), and it can be turned off', async t => {
  const on = load(RECALL_WITH_KEY, { RECALL_KEY: 'rk' })
  const app = on.apps[0]
  t.same(app?.destinations[0]?.api, { baseUrl: 'https://eu-central-1.recall.ai', apiKey: 'rk', appId: 'r1' })
  t.same(app?.deauthorization, { destinations: ['recall'], match: 'user' })
  t.equal(load(`${RECALL_WITH_KEY}\ndeauthorization: { cleanup: false }`, { RECALL_KEY: 'rk' }).apps[0]?.deauthorization, undefined)
  t.same(load(`${RECALL_WITH_KEY}\ndeauthorization: { match: account }`, { RECALL_KEY: 'rk' }).apps[0]?.deauthorization, { destinations: ['recall'], match: 'account' })
  t.equal(load('destinations:\n  - { type: recall, appId: r1 }').apps[0]?.deauthorization, undefined, 'no key, no clean-up, no complaint')
  t.match(problems(() => load(`${RECALL_WITH_KEY}\ndeauthorization: { match: everyone }`, { RECALL_KEY: 'rk' })), [/deauthorization\.match: must be user .* or account/])
})

t.test('oauth: which destination registers codes, and what is refused', async t => {
  const config = load(`${RECALL_WITH_KEY}\noauth: { clientId: cid, redirectUri: "https://relay.example.com/zoom/oauth/callback/" }`, { RECALL_KEY: 'rk' })
  t.same(config.apps[0]?.oauth, { clientId: 'cid', redirectUri: 'https://relay.example.com/zoom/oauth/callback/', authorizeUrl: 'https://zoom.us/oauth/authorize', registrar: 'recall' })
  t.match(problems(() => load('destinations:\n  - { type: recall, appId: r1 }\noauth: { clientId: cid, redirectUri: "https://r.example/cb" }')), [/oauth\.destination: needs a recall or attendee destination with an apiKey/])
  const two = 'destinations:\n  - { type: recall, appId: r1, apiKey: k }\n  - { type: attendee, appId: zoa_1, baseUrl: "https://a.example", apiKey: k2 }'
  t.match(problems(() => load(`${two}\noauth: { clientId: cid, redirectUri: "https://r.example/cb" }`)), [/oauth\.destination: is ambiguous: name the destination to use \(recall, attendee\)/])
  t.equal(load(`${two}\noauth: { clientId: cid, redirectUri: "https://r.example/cb", destination: attendee }`).apps[0]?.oauth?.registrar, 'attendee')
  t.match(problems(() => load(`${RECALL_WITH_KEY}\noauth: { redirectUri: "https://r.example/cb" }`, { RECALL_KEY: 'rk' })), [/oauth\.clientId: must be your Zoom app's Client ID/])
  t.match(problems(() => load(`${RECALL_WITH_KEY}\noauth: { clientId: c, redirectUri: "https://r.example/zoom/webhook/sales" }`, { RECALL_KEY: 'rk' })), [/collides with the relay's own routes/])
  t.match(problems(() => load(`${RECALL_WITH_KEY}\noauth: { clientId: c, redirectUri: "not a url" }`, { RECALL_KEY: 'rk' })), [/oauth\.redirectUri: must be .*an absolute http\(s\) URL/])
})

t.test('the env-configured app: RECALL_API_KEY, ZOOM_CLIENT_ID, ZOOM_OAUTH_REDIRECT_URI, DEAUTHORIZATION_*', async t => {
  const base = { ZOOM_WEBHOOK_SECRET_TOKEN: 's', RECALL_ZOOM_OAUTH_APP_ID: 'r1' }
  const plain = loadConfig(base).apps[0]
  t.equal(plain?.oauth, undefined)
  t.equal(plain?.deauthorization, undefined)
  t.same(plain?.destinations[0]?.headers, {})

  const full = loadConfig({ ...base, RECALL_API_KEY: 'rk', ZOOM_CLIENT_ID: 'cid', ZOOM_OAUTH_REDIRECT_URI: 'https://relay.example.com/zoom/oauth/callback', ZOOM_OAUTH_SUCCESS_URL: 'https://app.example.com/ok', DEAUTHORIZATION_MATCH: 'account' }).apps[0]
  t.same(full?.oauth, { clientId: 'cid', redirectUri: 'https://relay.example.com/zoom/oauth/callback', successUrl: 'https://app.example.com/ok', authorizeUrl: 'https://zoom.us/oauth/authorize', registrar: 'recall' })
  t.same(full?.deauthorization, { destinations: ['recall'], match: 'account' })
  t.equal(loadConfig({ ...base, RECALL_API_KEY: 'rk', DEAUTHORIZATION_CLEANUP: 'false' }).apps[0]?.deauthorization, undefined)

  t.match(problems(() => loadConfig({ ...base, ZOOM_CLIENT_ID: 'cid', ZOOM_OAUTH_REDIRECT_URI: 'https://r.example/cb' })), [/RECALL_API_KEY is not set: the Zoom OAuth flow/])
  t.match(problems(() => loadConfig({ ...base, RECALL_API_KEY: 'rk', ZOOM_CLIENT_ID: 'cid' })), [/ZOOM_OAUTH_REDIRECT_URI must be the Redirect URL for OAuth exactly as registered in Zoom/])
  t.match(problems(() => loadConfig({ ...base, DEAUTHORIZATION_CLEANUP: 'maybe' })), [/DEAUTHORIZATION_CLEANUP="maybe" is not one of true, false/])
  t.match(problems(() => loadConfig({ ...base, PROVIDER_API_RETRIES: '99', OAUTH_STATE_TTL_SECONDS: '5' })), [/OAUTH_STATE_TTL_SECONDS/, /PROVIDER_API_RETRIES/])
})

t.test('Attendee: its own default flags, and the deauthorization clean-up of an attendee destination with an apiKey', async t => {
  const attendee = '{ type: attendee, appId: zoa_1, baseUrl: "https://a.example", apiKey: k2 }'
  const only = load(`destinations:\n  - ${attendee}`).apps[0]
  t.same(only?.destinations[0]?.attendeeConnection, { isLocalRecordingTokenSupported: true, isOnbehalfTokenSupported: false }, 'local recording on, on-behalf off unless set')
  t.same(only?.deauthorization, { destinations: ['attendee'], match: 'user' }, 'on by default for an attendee destination with a key')
  const two = `destinations:\n  - { type: recall, appId: r1, apiKey: k }\n  - ${attendee}`
  t.same(load(two).apps[0]?.deauthorization, { destinations: ['recall', 'attendee'], match: 'user' }, 'unnamed: every keyed recall and attendee destination, in order')
  t.same(load(`${two}\ndeauthorization: { destination: attendee, match: account }`).apps[0]?.deauthorization, { destinations: ['attendee'], match: 'account' }, 'named: only that one')
  t.equal(load('destinations:\n  - { type: attendee, appId: zoa_1, baseUrl: "https://a.example" }').apps[0]?.deauthorization, undefined, 'no key, no clean-up')
})
