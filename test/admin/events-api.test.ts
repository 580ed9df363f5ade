import t from 'tap'
import { request } from 'undici'
import type { EventDetail } from '../../src/history/event-detail.js'
import type { ReplayResult } from '../../src/history/event-replay.js'
import type { EventPage } from '../../src/history/event-search.js'
import { historyAppsFile, writeScenario } from '../helpers/history-fixtures.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'

const ADMIN_TOKEN = 'admin-token-events-0123456789'

t.test('admin API: /api/events list, detail and replay, with the admin server\'s auth, JSON and error rules', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0', CONFIG_FILE: historyAppsFile(t, { crm: sink.url, warehouse: sink.url, desk: sink.url }) } })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })
  const admin = relay.adminUrl ?? ''
  const base = Date.now() - 60_000
  const events = await writeScenario(redis.client(), base)
  const names = new Map(Object.entries(events).map(([name, e]) => [e.publicId, name]))
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const get = async (path: string): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await request(`${admin}${path}`, { headers: auth })
    return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
  }
  const post = async (payload: unknown, headers: Record<string, string> = { ...auth, 'content-type': 'application/json' }): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await request(`${admin}/api/events/replay`, { method: 'POST', headers, body: JSON.stringify(payload) })
    return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
  }
  const listed = async (query: string): Promise<string[]> => {
    const { status, json } = await get(`/api/events?${query}`)
    t.equal(status, 200, query)
    return (json as unknown as EventPage).events.map(e => names.get(e.id) ?? e.id)
  }

  const anonymous = await request(`${admin}/api/events`)
  t.equal(anonymous.statusCode, 401, 'the token is needed')
  await anonymous.body.dump()

  t.same(await listed(''), ['s6', 's5', 's4', 'p2', 's3', 's2', 'p1', 's1'])
  t.same(await listed('app=sales&state=pending'), ['s4', 's2'])
  t.same(await listed('event=meeting.*&meeting=111&account=A2'), ['s4'])
  t.same(await listed(`destination=desk&since=${new Date(base + 1000).toISOString()}&until=${new Date(base + 3000).toISOString()}`), ['p2'])
  const first = await get('/api/events?limit=5')
  const next = await listed(`limit=5&cursor=${String(first.json.cursor)}`)
  t.same(next, ['s2', 'p1', 's1'], 'the cursor leads on')

  for (const [query, status, code] of [['since=yesterday', 400, 'ZR_ADMIN_BAD_FILTER'], ['state=lost', 400, 'ZR_EVENTS_BAD_QUERY'], ['cursor=zzz', 400, 'ZR_EVENTS_BAD_QUERY'], ['app=nope', 404, 'ZR_UNKNOWN_DESTINATION'], ['limit=5000', 400, 'ZR_EVENTS_BAD_QUERY']] as const) {
    const res = await get(`/api/events?${query}`)
    t.equal(res.status, status, `${query}: ${status}`)
    t.match(res.json, { error: code, message: /\S/ })
  }

  const detail = await get(`/api/events/${events.s4.publicId}`)
  t.equal(detail.status, 200)
  t.match(detail.json as unknown as EventDetail, { id: events.s4.publicId, body: { kept: true, sha256: sha256(events.s4.body) }, destinations: [{ destination: 'crm' }, { destination: 'warehouse', attemptLog: [{ status: 503 }, { status: 200 }] }] })
  t.match(await get('/api/events/sales/1-0'), { status: 404, json: { error: 'ZR_EVENT_UNKNOWN' } })

  t.match(await post({ ids: [events.s1.publicId], destination: 'warehouse', dryRun: true }), { status: 200, json: { dryRun: true, replayed: 1 } })
  const replayed = await post({ ids: [events.s1.publicId], destination: 'warehouse' })
  t.match(replayed, { status: 200, json: { dryRun: false, replayed: 1, destination: 'warehouse' } })
  await sink.waitFor(1)
  t.equal(sink.received[0]?.url, '/warehouse', 'sent to the chosen destination')
  t.equal(sink.received[0]?.sha256, sha256(events.s1.body))
  t.match(await post({ meeting: '111', app: 'sales', destination: 'warehouse', dryRun: true }), { status: 200, json: { replayed: 2 } }, 'by filter')

  const refusals: Array<[unknown, number, string]> = [
    [{ ids: [events.s5.publicId], destination: 'warehouse' }, 410, 'ZR_REPLAY_BODY_GONE'],
    [{ ids: [events.s3.publicId], destination: 'crm' }, 409, 'ZR_REPLAY_FILTERED'],
    [{ ids: [events.s1.publicId], destination: 'desk' }, 400, 'ZR_REPLAY_WRONG_DESTINATION'],
    [{ ids: [events.s1.publicId] }, 400, 'ZR_EVENTS_BAD_QUERY'],
    [{ destination: 'warehouse' }, 400, 'ZR_EVENTS_BAD_QUERY'],
    [{ ids: ['sales/1-0'], destination: 'warehouse' }, 404, 'ZR_EVENT_UNKNOWN']
  ]
  for (const [payload, status, code] of refusals) {
    const res = await post(payload)
    t.equal(res.status, status, `${JSON.stringify(payload)}: ${status}`)
    t.match(res.json, { error: code })
  }
  t.match(await post({ ids: [events.s3.publicId], destination: 'crm', force: true }), { status: 200, json: { replayed: 1 } }, 'force')
  const form = await post({ ids: [events.s1.publicId], destination: 'warehouse' }, { ...auth, 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(form.status, 415, 'the API takes JSON only')
  const result = (await post({ ids: [events.s1.publicId], destination: 'warehouse', dryRun: true })).json as unknown as ReplayResult
  t.equal(result.events[0]?.jobId, null)
})
