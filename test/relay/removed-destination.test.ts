import { Redis } from 'ioredis'
import t from 'tap'
import { request } from 'undici'
import type { EventPage } from '../../src/history/event-search.js'
import { runCliInProcess } from '../helpers/cli.js'
import { historyIndex, readRecord } from '../helpers/history.js'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay, type TestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { httpDestinationsConfig } from '../helpers/temp-file.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const APP_SECRET = 'removed-destination-secret'

// What docs/operations.md ("Removing or renaming a destination") says happens when a destination leaves the
// config with events still waiting for it, and when it comes back under the same name.
t.test('events waiting for a destination removed from the config stay unsettled, and are delivered once it is back', async t => {
  const crm = await startSink()
  let archiveUp = false
  const accepted: string[] = []
  const archive = await startSink(req => {
    if (archiveUp) accepted.push(req.sha256)
    return { status: archiveUp ? 200 : 503 }
  })
  const redis = await startTestRedis()
  const client = new Redis(redis.url)
  const config = (names: Array<'crm' | 'archive'>): string =>
    httpDestinationsConfig(t, APP_SECRET, names.map(name => ({ name, url: name === 'crm' ? crm.url : archive.url })))
  let relay: TestRelay | undefined
  let currentConfig = ''
  t.teardown(async () => {
    await relay?.close()
    client.disconnect()
    await Promise.all([crm.close(), archive.close()])
    await redis.stop()
  })
  const run = async (names: Array<'crm' | 'archive'>): Promise<void> => {
    await relay?.close()
    currentConfig = config(names)
    relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { CONFIG_FILE: currentConfig } })
  }
  const send = async (body: string): Promise<void> => {
    const res = await request(relay?.webhookUrl('sales') ?? '', { method: 'POST', headers: zoomHeaders(APP_SECRET, body), body })
    await res.body.dump()
    t.equal(res.statusCode, 200)
  }
  const records = async () => await Promise.all((await historyIndex(client, 'sales')).map(async ({ id }) => await readRecord(client, id, 'sales')))

  await run(['crm', 'archive'])
  const waiting = [1, 2, 3].map(id => meetingCreated(id))
  for (const body of waiting) await send(body)
  await crm.waitFor(3)
  await eventually(async () => (await records()).every(r => r?.deliveries.archive?.s === 'retrying'), 20_000, 'archive failing, its events retrying')

  // The archive leaves the config: new events are not written for it, the waiting ones stay waiting.
  await run(['crm'])
  const later = [4, 5].map(id => meetingCreated(id))
  for (const body of later) await send(body)
  // crm's answer reaches the sink before the worker records it.
  await eventually(async () => (await records()).slice(3).every(r => r?.unsettled === 0), 20_000, 'the later events settled with crm alone')
  const whileRemoved = await records()
  t.same(whileRemoved.map(r => r?.unsettled), [1, 1, 1, 0, 0], 'the waiting events stay unsettled')
  t.same(whileRemoved.slice(3).map(r => Object.keys(r?.deliveries ?? {})), [['crm'], ['crm']], 'the later events were never meant for the archive')
  // The operator finds them by state; the removed name itself is refused as a filter (a typo must not look like "none").
  const env = { CONFIG_FILE: currentConfig, REDIS_URL: redis.url }
  const list = await runCliInProcess(['events', 'list', '--app', 'sales', '--state', 'retrying', '--json'], env)
  t.equal(list.status, 0, list.stderr)
  const found = (JSON.parse(list.stdout) as EventPage).events
  t.same(found.map(e => e.meeting).sort(), ['1', '2', '3'], 'events list --state retrying finds the waiting events')
  t.same(found.flatMap(e => e.destinations.filter(d => d.state === 'retrying').map(d => d.destination)), ['archive', 'archive', 'archive'])
  const byName = await runCliInProcess(['events', 'list', '--app', 'sales', '--destination', 'archive'], env)
  t.equal(byName.status, 3, 'exit 3: unknown')
  t.match(byName.stderr, /No destination "archive" in app "sales"/)

  // Back under the same name, and answering: the workers take up its stream and retries again.
  archiveUp = true
  await run(['crm', 'archive'])
  await eventually(async () => (await records()).every(r => r?.unsettled === 0), 20_000, 'every event settled')
  t.same([...accepted].sort(), waiting.map(sha256).sort(), 'the archive got each waiting event once, and none of the later ones')
  t.same((await records()).slice(0, 3).map(r => r?.deliveries.archive?.s), ['delivered', 'delivered', 'delivered'])
})
