// DeliveryTracker on a relay in this process: filtered destinations, and an event delivered before the first look.
import { Redis } from 'ioredis'
import t from 'tap'
import { loadConfig } from '../../src/config/load-config.js'
import { DeliveryTracker } from '../../src/operations/delivery-tracker.js'
import { RelayQueues } from '../../src/retry/relay-queues.js'
import { sampleEventBody } from '../../src/zoom/sample-events.js'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { RECALL_APP_ID, SECRET, startTestRelay } from '../helpers/relay.js'
import { startSink } from '../helpers/sink.js'
import { tempFile } from '../helpers/temp-file.js'
import { zoomHeaders } from '../helpers/zoom.js'

const CRM_SECRET = 'crm-secret-token-0123456789'

t.test('per destination: filtered out, delivered at the first attempt (even when gone before the first look)', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const sink = await startSink()
  t.teardown(async () => { await sink.close() })
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: crm
    secretToken: ${CRM_SECRET}
    destinations:
      - { type: http, name: everything, url: "${sink.url}/all" }
      - { type: http, name: meetings, url: "${sink.url}/meetings", events: { include: [meeting.*] } }
`)
  const env = { CONFIG_FILE: file }
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env })
  t.teardown(async () => { await relay.close() })
  // What the CLI loads: the relay's configuration.
  const config = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: sink.url, REDIS_URL: redis.url, CONFIG_FILE: file })
  const client = new Redis(redis.url)
  const queues = new RelayQueues(config, client)
  t.teardown(async () => { await queues.close(); client.disconnect() })
  const prefix = config.redisPrefix
  const send = async (body: string): Promise<void> => {
    const res = await fetch(relay.webhookUrl('crm'), { method: 'POST', headers: zoomHeaders(CRM_SECRET, body), body })
    t.equal(res.status, 200)
  }

  const userUpdated = sampleEventBody('user.updated')
  const first = await DeliveryTracker.before(client, queues, 'crm', prefix)
  await send(userUpdated)
  let looks = await first.check(Buffer.from(userUpdated), 'user.updated')
  await eventually(async () => (looks = await first.check(Buffer.from(userUpdated), 'user.updated')).every(d => d.progress.state !== 'waiting'), 20_000, 'settled')
  t.same(looks.map(d => [d.destination, d.progress]), [['everything', { state: 'delivered', attempts: 1 }], ['meetings', { state: 'filtered' }]])

  const meeting = sampleEventBody('meeting.created')
  const second = await DeliveryTracker.before(client, queues, 'crm', prefix)
  await send(meeting)
  await eventually(() => sink.received.filter(r => r.body.toString() === meeting).length === 2, 20_000, 'both destinations got it')
  // The entries are acknowledged and deleted by now; no retry job carries the bytes: delivered.
  await eventually(async () => (await client.xlen(`${prefix}:{crm}:events:everything`)) === 0 && (await client.xlen(`${prefix}:{crm}:events:meetings`)) === 0, 20_000, 'entries deleted')
  looks = await second.check(Buffer.from(meeting), 'meeting.created')
  t.same(looks.map(d => [d.destination, d.entryId, d.progress]), [['everything', undefined, { state: 'delivered', attempts: 1 }], ['meetings', undefined, { state: 'delivered', attempts: 1 }]])

})
