import t, { type Test } from 'tap'
import { ProviderApiError } from '../../src/errors.js'
import { AttendeeApi } from '../../src/providers/attendee-api.js'
import { ProviderApiClient } from '../../src/providers/provider-api-client.js'
import { FakeZoom, startFakeAttendee } from '../helpers/fake-providers.js'

const KEY = 'attendee-api-test-key'
const REDIRECT = 'https://relay.example.com/attendee/oauth/callback'

async function setup (t: Test) {
  const zoom = new FakeZoom()
  const attendee = await startFakeAttendee({ apiKey: KEY, zoom, apps: ['zoa_1', 'zoa_2'] })
  const api = new AttendeeApi({ baseUrl: attendee.url, apiKey: KEY, appId: 'zoa_1' }, { timeoutMs: 5000, retries: 0 })
  // The raw client, to check what the stand-in refuses (the relay itself never sends such requests).
  const raw = new ProviderApiClient({ baseUrl: attendee.url, apiKey: KEY, timeoutMs: 5000, retries: 0 })
  t.teardown(async () => { await api.close(); await raw.close(); await attendee.close() })
  const code = (who = { accountId: 'acct-A', userId: 'user-alice' }, scopes?: string[]): string =>
    zoom.authorize(`https://zoom.us/oauth/authorize?redirect_uri=${encodeURIComponent(REDIRECT)}`, { ...who, ...(scopes === undefined ? {} : { scopes }) }).code
  return { attendee, api, raw, code }
}

t.test('createConnection: Attendee\'s defaults, exactly its fields, metadata; installing again keeps the same connection', async t => {
  const { attendee, api, code } = await setup(t)
  const first = await api.createConnection({ code: code(), redirectUri: REDIRECT })
  t.match(first, { id: /^zoc_/, zoom_oauth_app_id: 'zoa_1', user_id: 'user-alice', account_id: 'acct-A', state: 'connected', metadata: null, is_local_recording_token_supported: true, is_onbehalf_token_supported: false })
  t.same(Object.keys(attendee.requests[0]?.body as object).sort(), ['authorization_code', 'is_local_recording_token_supported', 'is_onbehalf_token_supported', 'redirect_uri', 'zoom_oauth_app_id'], 'no metadata without a ref')

  const again = await api.createConnection({ code: code(), redirectUri: REDIRECT }, { isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: true }, { ref: 'u-1' })
  t.equal(again.id, first.id, 'same id for the same app and Zoom user')
  t.match(again, { metadata: { ref: 'u-1' }, is_local_recording_token_supported: false, is_onbehalf_token_supported: true })
  t.equal(attendee.connections.size, 1)
  const bob = await api.createConnection({ code: code({ accountId: 'acct-A', userId: 'user-bob' }), redirectUri: REDIRECT })
  t.not(bob.id, first.id, 'another Zoom user gets a connection of their own')
})

t.test('createConnection refusals are 400 errors that are not retried', async t => {
  const { attendee, api, code } = await setup(t)
  const refused = async (promise: Promise<unknown>, body: unknown, what: string): Promise<void> => {
    const err = await promise.then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ProviderApiError, what)
    t.match(err, { status: 400, retryable: false, body }, what)
  }
  await refused(api.createConnection({ code: code(), redirectUri: REDIRECT }, { isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: false }),
    { non_field_errors: ['At least one of is_local_recording_token_supported or is_onbehalf_token_supported must be true'] }, 'both flags false')
  await refused(api.createConnection({ code: code(undefined, ['user:read:user', 'user:read:zak']), redirectUri: REDIRECT }),
    { error: /missing the following required scopes: \['meeting:read:list_meetings', 'meeting:read:local_recording_token'\]/ }, 'local recording without its scopes')
  await refused(api.createConnection({ code: code(undefined, ['user:read:user', 'user:read:zak']), redirectUri: REDIRECT }, { isLocalRecordingTokenSupported: false, isOnbehalfTokenSupported: true }),
    { error: /missing the following required scopes: \['user:read:token'\]/ }, 'on-behalf without its scope')
  await refused(api.createConnection({ code: 'used-or-unknown', redirectUri: REDIRECT }), { error: /Error exchanging access code/ }, 'a code Zoom refuses')
  const wrongApp = new AttendeeApi({ baseUrl: attendee.url, apiKey: KEY, appId: 'zoa_nope' }, { timeoutMs: 5000, retries: 0 })
  t.teardown(async () => { await wrongApp.close() })
  await refused(wrongApp.createConnection({ code: code(), redirectUri: REDIRECT }), { error: 'Zoom OAuth App with id zoa_nope does not exist in this project (test).' }, 'an app not in the project')
})

t.test('the stand-in is as strict as Attendee: unknown fields, bad metadata, trailing slashes, 404 and DELETE shapes', async t => {
  const { raw, code } = await setup(t)
  const post = async (json: Record<string, unknown>): Promise<unknown> => await raw.request('POST', '/api/v1/zoom_oauth_connections', { json: { authorization_code: code(), redirect_uri: REDIRECT, ...json } })
  t.same(await post({ zoom_oauth_app_id: 'zoa_1', zoom_user_id: 'x', code_verifier: 'y' }), {
    status: 400,
    body: { non_field_errors: ['Unexpected field(s): code_verifier, zoom_user_id. Allowed fields are: authorization_code, is_local_recording_token_supported, is_onbehalf_token_supported, metadata, redirect_uri, zoom_oauth_app_id'] }
  })
  t.same(await post({ metadata: {} }), { status: 400, body: { metadata: ['Metadata must have at least one key'] } })
  t.same(await post({ metadata: ['ref'] }), { status: 400, body: { metadata: ['Metadata must be an object not an array or other type'] } })
  t.match(await post({}).then(() => undefined, (e: unknown) => e), { status: 500 }, 'no app id in a project with two apps: Django\'s get() fails')
  t.same(await raw.request('GET', '/api/v1/zoom_oauth_connections/'), { status: 404, body: 'Not Found' }, 'no trailing slash in Attendee\'s paths')
  t.same(await raw.request('GET', '/api/v1/zoom_oauth_connections/zoc_nope'), { status: 404, body: { error: 'Zoom OAuth Connection not found' } })
  t.same(await raw.request('DELETE', '/api/v1/zoom_oauth_connections/zoc_nope'), { status: 404, body: { error: 'Zoom OAuth Connection not found' } })
  t.same(await raw.request('GET', '/api/v1/zoom_oauth_connections?cursor=bogus'), { status: 404, body: { detail: 'Invalid cursor' } })
  const created = await post({ zoom_oauth_app_id: 'zoa_1' }) as { body: { id: string } }
  t.same(await raw.request('DELETE', `/api/v1/zoom_oauth_connections/${created.body.id}`), { status: 200, body: '' }, '200 with an empty body')
})

t.test('listConnections follows the cursor over three pages and keeps only this app\'s connections; get and delete', async t => {
  const { attendee, api } = await setup(t)
  const mine: string[] = []
  for (let i = 0; i < 60; i++) {
    const c = attendee.addConnection({ appId: i % 3 === 0 ? 'zoa_1' : 'zoa_2', userId: `user-${i % 10}`, accountId: i < 30 ? 'acct-A' : 'acct-B' })
    if (c.zoom_oauth_app_id === 'zoa_1') mine.push(c.id)
  }
  const all = await api.listConnections()
  t.same(all.map(c => c.id), [...mine].reverse(), 'newest first, 20 of 60')
  const pages = attendee.requests.filter(r => r.method === 'GET')
  t.equal(pages.length, 3, '25 + 25 + 10')
  t.match(pages.map(r => r.query.get('cursor')), [null, /./, /./])
  t.same((await api.listConnections({ user_id: 'user-0' })).map(c => [c.user_id, c.zoom_oauth_app_id]), [['user-0', 'zoa_1'], ['user-0', 'zoa_1']], 'user-0 in zoa_1: i = 30 and 0')
  t.equal((await api.listConnections({ account_id: 'acct-B' })).length, 10)
  t.equal((await api.listConnections({ account_id: 'acct-B', user_id: 'user-0' })).length, 1)

  const other = [...attendee.connections.values()].find(c => c.zoom_oauth_app_id === 'zoa_2')
  t.equal(await api.getConnection(other?.id ?? ''), undefined, 'another app\'s connection is not found through this app')
  t.match(await api.getConnection(mine[0] ?? ''), { id: mine[0], zoom_oauth_app_id: 'zoa_1' })
  t.equal(await api.deleteConnection(mine[0] ?? ''), 'deleted')
  t.equal(await api.deleteConnection(mine[0] ?? ''), 'gone')
  t.equal(await api.getConnection(mine[0] ?? ''), undefined)
})
