import t, { type Test } from 'tap'
import { request } from 'undici'
import { FakeZoom, startFakeAttendee, startFakeRecall } from '../helpers/fake-providers.js'
import { eventually, metricValue, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256 } from '../helpers/sink.js'
import { tempFile } from '../helpers/temp-file.js'
import { zoomHeaders } from '../helpers/zoom.js'

const API_KEY = 'recall-key-cleanup'
const CLEANUP_QUEUE = '{default.deauthorization}'

function deauthorized (userId: string, accountId = 'acct-A'): string {
  return JSON.stringify({
    event: 'app_deauthorized',
    event_ts: Date.now(),
    payload: { account_id: accountId, user_id: userId, signature: 'zoom-signature-of-payload', deauthorization_time: new Date().toISOString(), client_id: 'zoomClientId123' }
  })
}

async function setup (t: Test, env: Record<string, string> = {}) {
  const redis = await startTestRedis()
  const recall = await startFakeRecall({ apiKey: API_KEY, appId: RECALL_APP_ID, zoom: new FakeZoom() })
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: recall.url, env: { RECALL_API_KEY: API_KEY, RETRY_ATTEMPTS: '3', ...env } })
  const cleanups = openQueue(redis.url, CLEANUP_QUEUE)
  t.teardown(async () => { await relay.close(); await cleanups.close(); await recall.close(); await redis.stop() })
  const send = async (body: string): Promise<number> => {
    const res = await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
    await res.body.dump()
    return res.statusCode
  }
  return { redis, recall, relay, cleanups: cleanups.queue, send }
}

t.test('app_deauthorized is forwarded and the user\'s Recall credential deleted; others kept; a second time finds nothing', async t => {
  const { recall, relay, cleanups, send } = await setup(t)
  const alice = recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  const bob = recall.addCredential({ accountId: 'acct-A', userId: 'user-bob' })
  const otherApp = recall.addCredential({ accountId: 'acct-A', userId: 'user-alice', appId: 'another-oauth-app' })

  const body = deauthorized('user-alice')
  t.equal(await send(body), 200)
  await eventually(() => recall.webhooks.length === 1, 10_000, 'webhook forwarded')
  t.equal(sha256(recall.webhooks[0]?.body ?? ''), sha256(body), 'forwarded byte for byte')
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 10_000, 'clean-up done')
  t.notOk(recall.credentials.has(alice.id), 'alice\'s credential deleted')
  t.ok(recall.credentials.has(bob.id), 'bob (same account, user-managed app) kept')
  t.ok(recall.credentials.has(otherApp.id), 'credentials of other Recall OAuth apps kept')
  const list = recall.requests.find(r => r.method === 'GET')
  t.equal(list?.query.toString(), `oauth_app=${RECALL_APP_ID}&user_id=user-alice&account_id=acct-A`)
  t.equal(list?.headers.authorization, `Token ${API_KEY}`)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { outcome: 'cleaned' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_credentials_deleted_total'), 1)

  // Zoom re-sends the event (or a second subscription does): already gone is fine.
  t.equal(await send(deauthorized('user-alice')), 200)
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 2, 10_000, 'second clean-up done')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { outcome: 'nothing_found' }), 1)
  t.notOk(relay.logs.join('').includes(API_KEY), 'the API key is never logged')
})

t.test('a credential deleted between list and delete (404) counts as done', async t => {
  const { recall, cleanups, send } = await setup(t)
  recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  recall.force({ method: 'DELETE', status: 404, body: { detail: 'Not found.' } })
  t.equal(await send(deauthorized('user-alice')), 200)
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 10_000, 'clean-up done')
  const [job] = await cleanups.getCompleted()
  t.same(job?.returnvalue, { deleted: 0, alreadyGone: 1 })
})

t.test('Recall failing is retried (429 honouring Retry-After, 5xx); a persistent failure is dead-lettered and counted', async t => {
  const { recall, relay, cleanups, send } = await setup(t)
  const alice = recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  recall.force({ method: 'GET', status: 429, headers: { 'retry-after': '0' } }, { method: 'GET', status: 502 })
  t.equal(await send(deauthorized('user-alice')), 200)
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 15_000, 'clean-up done after retries')
  t.notOk(recall.credentials.has(alice.id))
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { outcome: 'retry' }), 2)

  const down = { method: 'GET', status: 503 }
  recall.force(down, down, down)
  t.equal(await send(deauthorized('user-bob')), 200)
  await eventually(async () => (await cleanups.getJobCounts('failed')).failed === 1, 15_000, 'dead-lettered')
  const [job] = await cleanups.getFailed()
  t.equal(job?.attemptsMade, 3, 'RETRY_ATTEMPTS attempts')
  t.match(job?.failedReason, /answered 503/)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { outcome: 'dead_lettered' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_queue_jobs', { destination: 'deauthorization-cleanup', state: 'failed' }), 1)
  t.equal(recall.webhooks.length, 2, 'both events were forwarded regardless')
})

t.test('DEAUTHORIZATION_MATCH=account deletes every credential of the Zoom account', async t => {
  const { recall, cleanups, send } = await setup(t, { DEAUTHORIZATION_MATCH: 'account' })
  recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  recall.addCredential({ accountId: 'acct-A', userId: 'user-bob' })
  const otherAccount = recall.addCredential({ accountId: 'acct-B', userId: 'user-carol' })
  t.equal(await send(deauthorized('user-admin')), 200)
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 10_000, 'clean-up done')
  t.same([...recall.credentials.keys()], [otherAccount.id])
})

t.test('DEAUTHORIZATION_CLEANUP=false: forwarded only, nothing deleted', async t => {
  const { recall, cleanups, send } = await setup(t, { DEAUTHORIZATION_CLEANUP: 'false' })
  const alice = recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  t.equal(await send(deauthorized('user-alice')), 200)
  await eventually(() => recall.webhooks.length === 1, 10_000, 'webhook forwarded')
  t.ok(recall.credentials.has(alice.id))
  t.equal(recall.requests.length, 0, 'Recall\'s API was never called')
  t.equal(await cleanups.count(), 0, 'no clean-up job was queued')
  t.same(await cleanups.getJobCounts('completed', 'failed'), { completed: 0, failed: 0 })
})

/** A relay with one `bots` app relaying to an Attendee stand-in (apiKey set, so the clean-up is on). */
async function setupAttendee (t: Test, deauthorization = '') {
  const redis = await startTestRedis()
  const attendee = await startFakeAttendee({ apiKey: 'attendee-key-cleanup', zoom: new FakeZoom(), apps: ['zoa_1', 'zoa_other'] })
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: bots
    secretToken: ${SECRET}
    destinations:
      - { type: attendee, appId: zoa_1, baseUrl: "${attendee.url}", apiKey: "\${ATTENDEE_KEY}" }
${deauthorization}`)
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { CONFIG_FILE: file, ATTENDEE_KEY: 'attendee-key-cleanup', RETRY_ATTEMPTS: '3' } })
  const cleanups = openQueue(redis.url, '{bots.deauthorization}')
  t.teardown(async () => { await relay.close(); await cleanups.close(); await attendee.close(); await redis.stop() })
  const send = async (body: string): Promise<number> => {
    const res = await request(relay.webhookUrl('bots'), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
    await res.body.dump()
    return res.statusCode
  }
  return { attendee, relay, cleanups: cleanups.queue, send }
}

t.test('Attendee: app_deauthorized deletes that user\'s connection of this Attendee app and nothing else, across pages', async t => {
  const { attendee, relay, cleanups, send } = await setupAttendee(t)
  // Oldest first: alice's connection ends up on the second page of Attendee's newest-first list.
  const alice = attendee.addConnection({ appId: 'zoa_1', userId: 'user-alice', accountId: 'acct-A' })
  const bob = attendee.addConnection({ appId: 'zoa_1', userId: 'user-bob', accountId: 'acct-A' })
  const aliceElsewhere = attendee.addConnection({ appId: 'zoa_other', userId: 'user-alice', accountId: 'acct-A' })
  for (let i = 0; i < 26; i++) attendee.addConnection({ appId: i % 2 === 0 ? 'zoa_other' : 'zoa_1', userId: `user-${i}`, accountId: 'acct-A' })
  // One failed list on the way: retried like any clean-up.
  attendee.force({ method: 'GET', status: 503 })

  const body = deauthorized('user-alice')
  t.equal(await send(body), 200)
  await eventually(() => attendee.webhooks.length === 1, 10_000, 'webhook forwarded to Attendee')
  t.equal(sha256(attendee.webhooks[0]?.body ?? ''), sha256(body), 'forwarded byte for byte')
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 15_000, 'clean-up done')
  t.notOk(attendee.connections.has(alice.id), 'alice\'s connection of zoa_1 deleted')
  t.ok(attendee.connections.has(bob.id), 'bob (same account) kept')
  t.ok(attendee.connections.has(aliceElsewhere.id), 'alice\'s connection of another Attendee app kept')
  t.equal(attendee.connections.size, 28, 'exactly one connection deleted')
  t.same(attendee.requests.filter(r => r.method === 'DELETE').map(r => r.path), [`/api/v1/zoom_oauth_connections/${alice.id}`])
  t.ok(attendee.requests.some(r => r.method === 'GET' && r.query.has('cursor')), 'followed next to the second page')
  t.ok(attendee.requests.every(r => r.headers.authorization === 'Token attendee-key-cleanup'))
  const [job] = await cleanups.getCompleted()
  t.same(job?.returnvalue, { deleted: 1, alreadyGone: 0 })
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { app: 'bots', outcome: 'retry' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { app: 'bots', outcome: 'cleaned' }), 1)
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_credentials_deleted_total', { app: 'bots' }), 1)

  // Attendee down for good: dead-lettered after RETRY_ATTEMPTS, as for Recall.
  const down = { method: 'GET', status: 503 }
  attendee.force(down, down, down)
  t.equal(await send(deauthorized('user-bob')), 200)
  await eventually(async () => (await cleanups.getJobCounts('failed')).failed === 1, 15_000, 'dead-lettered')
  const [failed] = await cleanups.getFailed()
  t.equal(failed?.attemptsMade, 3)
  t.match(failed?.failedReason, /answered 503/)
  t.ok(attendee.connections.has(bob.id))
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { app: 'bots', outcome: 'dead_lettered' }), 1)
  t.notOk(relay.logs.join('').includes('attendee-key-cleanup'), 'the API key is never logged')
})

t.test('Attendee: match account deletes the account\'s connections of this app only', async t => {
  const { attendee, cleanups, send } = await setupAttendee(t, '    deauthorization: { match: account }\n')
  attendee.addConnection({ appId: 'zoa_1', userId: 'user-alice', accountId: 'acct-A' })
  attendee.addConnection({ appId: 'zoa_1', userId: 'user-bob', accountId: 'acct-A' })
  const otherAccount = attendee.addConnection({ appId: 'zoa_1', userId: 'user-carol', accountId: 'acct-B' })
  const otherApp = attendee.addConnection({ appId: 'zoa_other', userId: 'user-dave', accountId: 'acct-A' })
  t.equal(await send(deauthorized('user-admin')), 200)
  await eventually(async () => (await cleanups.getJobCounts('completed')).completed === 1, 15_000, 'clean-up done')
  t.same([...attendee.connections.keys()].sort(), [otherAccount.id, otherApp.id].sort())
})

t.test('an app with a keyed Recall and a keyed Attendee destination: both clean up the user, the Recall one first', async t => {
  const redis = await startTestRedis()
  const zoom = new FakeZoom()
  const recall = await startFakeRecall({ apiKey: API_KEY, appId: RECALL_APP_ID, zoom })
  const attendee = await startFakeAttendee({ apiKey: 'attendee-key-both', zoom, apps: ['zoa_1'] })
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: bots
    secretToken: ${SECRET}
    destinations:
      - { type: recall, appId: ${RECALL_APP_ID}, baseUrl: "${recall.url}", apiKey: "\${RECALL_KEY}" }
      - { type: attendee, appId: zoa_1, baseUrl: "${attendee.url}", apiKey: "\${ATTENDEE_KEY}" }
`)
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: recall.url, env: { CONFIG_FILE: file, RECALL_KEY: API_KEY, ATTENDEE_KEY: 'attendee-key-both', RETRY_ATTEMPTS: '3' } })
  const cleanups = openQueue(redis.url, '{bots.deauthorization}')
  t.teardown(async () => { await relay.close(); await cleanups.close(); await attendee.close(); await recall.close(); await redis.stop() })
  const credential = recall.addCredential({ accountId: 'acct-A', userId: 'user-alice' })
  const keptCredential = recall.addCredential({ accountId: 'acct-A', userId: 'user-bob' })
  const connection = attendee.addConnection({ appId: 'zoa_1', userId: 'user-alice', accountId: 'acct-A' })
  const keptConnection = attendee.addConnection({ appId: 'zoa_1', userId: 'user-bob', accountId: 'acct-A' })
  // Attendee fails once: the retry runs the whole clean-up again, and Recall's part finds its credential already gone.
  attendee.force({ method: 'GET', status: 503 })

  const body = deauthorized('user-alice')
  const res = await request(relay.webhookUrl('bots'), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  t.equal(res.statusCode, 200)
  await eventually(async () => (await cleanups.queue.getJobCounts('completed')).completed === 1, 15_000, 'clean-up done')
  t.notOk(recall.credentials.has(credential.id), 'alice\'s Recall credential deleted')
  t.notOk(attendee.connections.has(connection.id), 'alice\'s Attendee connection deleted')
  t.ok(recall.credentials.has(keptCredential.id), 'bob\'s credential kept')
  t.ok(attendee.connections.has(keptConnection.id), 'bob\'s connection kept')
  t.equal(recall.requests.filter(r => r.method === 'DELETE').length, 1, 'Recall asked to delete once, not again on the retry')
  const [job] = await cleanups.queue.getCompleted()
  t.same(job?.returnvalue, { deleted: 1, alreadyGone: 0 }, 'the retry deleted the connection; the credential was gone from the list')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_credentials_deleted_total', { app: 'bots' }), 2, 'both deletions counted')
  t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_deauthorization_cleanups_total', { app: 'bots', outcome: 'cleaned' }), 1)
})
