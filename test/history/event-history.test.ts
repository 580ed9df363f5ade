import t from 'tap'
import { EventQueryError, UnknownDestinationError, UnknownEventError } from '../../src/errors.js'
import type { EventFilters } from '../../src/history/event-filters.js'
import { DestinationControl } from '../../src/operations/destination-control.js'
import { openHistory, SCENARIO_TRACEPARENT, writeScenario } from '../helpers/history-fixtures.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { sha256 } from '../helpers/sink.js'

t.test('event history: search by every filter, page with a cursor, paused states, one event in detail', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const { config, client, history } = openHistory(t, redis)
  const base = Date.now() - 3_600_000
  const events = await writeScenario(client, base)
  const names = new Map(Object.entries(events).map(([name, e]) => [e.publicId, name]))
  const ids = async (filters: EventFilters): Promise<string[]> => (await history.list(filters)).events.map(e => names.get(e.id) ?? e.id)
  const iso = (offset: number): number => base + offset

  t.same(await ids({}), ['s6', 's5', 's4', 'p2', 's3', 's2', 'p1', 's1'], 'every app, newest first')
  t.same(await ids({ app: 'sales' }), ['s6', 's5', 's4', 's3', 's2', 's1'], 'app')
  t.same(await ids({ app: 'support' }), ['p2', 'p1'])
  t.same(await ids({ destination: 'desk' }), ['p2', 'p1'], 'destination')
  t.same(await ids({ event: 'meeting.created' }), ['s5', 'p1', 's1'], 'event, exact')
  t.same(await ids({ event: 'meeting.*' }), ['s5', 's4', 'p2', 's2', 'p1', 's1'], 'event, prefix pattern')
  t.same(await ids({ event: 'user.*', app: 'sales' }), ['s6', 's3'])
  t.same(await ids({ meeting: '111' }), ['s4', 'p2', 's1'], 'meeting id')
  t.same(await ids({ meeting: 'u111==' }), ['s4', 's1'], 'meeting uuid')
  t.same(await ids({ account: 'A2' }), ['s4', 's3'], 'account')
  t.same(await ids({ state: 'pending' }), ['s4', 's2'], 'state: pending (any destination)')
  t.same(await ids({ state: 'retrying' }), ['s2'], 'retrying')
  t.same(await ids({ state: 'delivered' }), ['s6', 's5', 's4', 'p1', 's1'], 'delivered')
  t.same(await ids({ state: 'dead' }), ['p2', 's3'], 'dead')
  t.same(await ids({ state: 'filtered' }), ['s6', 's3'], 'filtered: by the index (s3) and by a record (s6)')
  t.same(await ids({ state: 'paused' }), [], 'nothing paused yet')
  t.same(await ids({ destination: 'crm', state: 'pending' }), ['s4'], 'state of the chosen destination only')
  t.same(await ids({ destination: 'warehouse', state: 'dead' }), ['s3'])
  t.same(await ids({ destination: 'crm', state: 'dead' }), [])
  t.same(await ids({ since: iso(1000), until: iso(3000) }), ['p2', 's3', 's2'], 'since inclusive, until exclusive')
  t.same(await ids({ since: iso(2500) }), ['s6', 's5', 's4', 'p2'])
  t.same(await ids({ until: iso(500) }), ['s1'])
  t.same(await ids({ app: 'sales', event: 'meeting.*', account: 'A1', state: 'delivered' }), ['s5', 's1'], 'filters combine')

  const [s2] = (await history.list({ meeting: '222' })).events
  t.match(s2, {
    id: events.s2.publicId,
    app: 'sales',
    event: 'meeting.started',
    meeting: '222',
    account: 'A1',
    receivedAt: new Date(iso(1000)).toISOString(),
    destinations: [
      { destination: 'crm', state: 'retrying', attempts: 2, lastStatus: 503, lastError: 'answered 503', replays: 0 },
      { destination: 'warehouse', state: 'pending', attempts: 0 }
    ]
  }, 'a summary: index facts and each destination\'s state')
  const [s3] = (await history.list({ meeting: undefined, account: 'A2', event: 'user.updated' })).events
  t.match(s3?.destinations, [{ destination: 'warehouse', state: 'dead', deadLetterReason: 'rejected' }, { destination: 'crm', state: 'filtered', attempts: 0 }])

  // Pages: limit per call, a cursor to go on, nothing twice, nothing missed, across both apps.
  const paged: string[] = []
  let cursor: string | undefined
  let calls = 0
  do {
    const page = await history.list({}, { limit: 3, cursor })
    t.ok(page.events.length <= 3)
    paged.push(...page.events.map(e => names.get(e.id) ?? e.id))
    cursor = page.cursor ?? undefined
    calls++
  } while (cursor !== undefined)
  t.same(paged, ['s6', 's5', 's4', 'p2', 's3', 's2', 'p1', 's1'], 'pages of 3 add up to the whole history')
  t.equal(calls, 3)

  // Bounded work: a narrow search examines at most maxExamined entries per call and says where to go on.
  const first = await history.list({ account: 'B1' }, { maxExamined: 3 })
  t.same(first.events, [], 'the 3 newest entries examined hold no match')
  t.equal(first.examined, 3)
  t.type(first.cursor, 'string', 'but there is more')
  const found: string[] = []
  cursor = first.cursor ?? undefined
  while (cursor !== undefined) {
    const page = await history.list({ account: 'B1' }, { maxExamined: 3, cursor })
    t.ok(page.examined <= 3, `at most 3 examined (${page.examined})`)
    found.push(...page.events.map(e => names.get(e.id) ?? e.id))
    cursor = page.cursor ?? undefined
  }
  t.same(found, ['p2', 'p1'], 'following the cursor finds them')

  // Paused: a destination's waiting events show as paused while it is; the stored state is untouched.
  const control = new DestinationControl(config, client)
  await control.pause({ app: 'sales', destination: 'warehouse' })
  t.same(await ids({ state: 'paused' }), ['s2'], 'pending for a paused destination: paused')
  t.same(await ids({ state: 'pending' }), ['s4'], 'and no longer pending (crm of s4 is not paused)')
  t.same(await ids({ state: 'retrying' }), ['s2'], 'crm of s2 still retrying')
  t.same(await ids({ destination: 'warehouse', state: 'delivered' }), ['s6', 's5', 's4', 's1'], 'settled states are not paused')
  t.match((await history.get(events.s2.publicId)).destinations, [{ destination: 'crm', state: 'retrying' }, { destination: 'warehouse', state: 'paused' }])
  await control.resume({ app: 'sales', destination: 'warehouse' })
  t.same(await ids({ state: 'pending' }), ['s4', 's2'], 'resumed: pending again')

  // One event in detail: headers as stored (never the signature), the body's size and hash, every attempt.
  const s4 = await history.get(events.s4.publicId)
  t.match(s4, {
    id: events.s4.publicId,
    event: 'meeting.ended',
    meeting: '111',
    uuid: 'u111==',
    account: 'A2',
    body: { kept: true, bytes: events.s4.body.length, sha256: sha256(events.s4.body) },
    unsettled: 1,
    traceparent: null,
    destinations: [
      { destination: 'crm', state: 'pending', attempts: 0, attemptLog: [] },
      {
        destination: 'warehouse',
        state: 'delivered',
        attempts: 2,
        deliveredAt: new Date(iso(4000)).toISOString(),
        attemptLog: [
          { at: new Date(iso(3000)).toISOString(), status: 503, durationMs: 15, error: 'answered 503', replay: false },
          { at: new Date(iso(4000)).toISOString(), status: 200, durationMs: 11, error: null, replay: false }
        ]
      }
    ]
  })
  t.same(s4.headers, {
    'x-zm-request-timestamp': events.s4.headers['x-zm-request-timestamp'],
    'content-type': events.s4.headers['content-type'],
    'user-agent': events.s4.headers['user-agent']
  }, 'the stored headers, without x-zm-signature')
  t.notOk(JSON.stringify(s4).includes(events.s4.headers['x-zm-signature'] ?? '-'), 'the signature appears nowhere')
  t.same((await history.get(events.s5.publicId)).body, { kept: false, note: 'body no longer kept' }, 'a body retention removed')
  t.equal((await history.get(events.s1.publicId)).traceparent, SCENARIO_TRACEPARENT, 'the relay\'s trace context')
  t.match((await history.get(events.s1.publicId)).destinations, [
    { destination: 'crm', state: 'delivered', attempts: 1, attemptLog: [{ at: new Date(iso(0)).toISOString(), status: 200, durationMs: 0, error: null, replay: false }] },
    { destination: 'warehouse', attempts: 1, attemptLog: [{ status: 200 }] }
  ], 'delivered at the first attempt: no log, the record is the attempt')
  t.match((await history.get(events.p1.publicId)).destinations, [{ destination: 'desk', state: 'delivered', attempts: 2, replays: 1, attemptLog: [{ status: 200, replay: false }, { status: 200, replay: true }] }], 'a replay\'s attempt is marked as one')

  for (const [id, error] of [['sales/1-0', UnknownEventError], ['ghost/1-0', UnknownEventError], ['nope', EventQueryError], ['sales/abc', EventQueryError]] as const) {
    await t.rejects(history.get(id), error, `get ${id}: ${error.name}`)
  }
  const refused: Array<[EventFilters, { name: string }]> = [
    [{ app: 'nope' }, UnknownDestinationError],
    [{ destination: 'nope' }, UnknownDestinationError],
    [{ app: 'support', destination: 'crm' }, UnknownDestinationError],
    [{ event: 'Meeting Created' }, EventQueryError],
    [{ state: 'lost' as 'dead' }, EventQueryError],
    [{ since: iso(3000), until: iso(1000) }, EventQueryError]
  ]
  for (const [filters, error] of refused) await t.rejects(history.list(filters), error, `list ${JSON.stringify(filters)} refused`)
  await t.rejects(history.list({}, { cursor: 'not-a-cursor' }), { code: 'ZR_EVENTS_BAD_QUERY' })
  await t.rejects(history.list({}, { limit: 0 }), { code: 'ZR_EVENTS_BAD_QUERY' })
})
