import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { loadConfig } from '../src/config/load-config.js'
import { attemptOutcome } from '../src/relay/delivery-outcome.js'
import { HistoryRecorder } from '../src/store/history-recorder.js'
import { eventRecordKey } from '../src/store/history-keys.js'
import { pickStoredHeaders } from '../src/ingress/forwarded-headers.js'
import { EventProducer } from '../src/store/event-producer.js'
import { createRedis } from '../src/redis/redis-connection.js'
import { sealSignature } from '../src/store/stored-signature.js'
import { eventStreamKey } from '../src/store/stream-keys.js'
import { readEventEnvelope } from '../src/zoom/event-envelope.js'
import { startTestRedis } from '../test/helpers/redis-server.js'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/**
 * `node --import tsx bench/history-memory.ts`: Redis memory per event of the
 * event history (used_memory before and after, divided by the events), for
 * realistic ~1 KB `meeting.created` bodies with Zoom's headers:
 * delivered with one destination, delivered with three, and waiting
 * (stored, destination down); de-duplication on, as by default; bodies
 * deflated (EVENT_BODY_COMPRESSION=deflate, the default) and as sent (`off`).
 * BENCH_HISTORY_EVENTS sets the count (default 20,000).
 */
const EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 20_000)
const dir = mkdtempSync(join(tmpdir(), 'zr-history-memory-'))
const file = join(dir, 'apps.yaml')
writeFileSync(file, `apps:
  - name: one
    secretToken: s
    destinations: [{ type: http, name: d0, url: "http://127.0.0.1:9/d0" }]
  - name: three
    secretToken: s
    destinations:
      - { type: http, name: d0, url: "http://127.0.0.1:9/d0" }
      - { type: http, name: d1, url: "http://127.0.0.1:9/d1" }
      - { type: http, name: d2, url: "http://127.0.0.1:9/d2" }
`)
const redis = await startTestRedis()
try {
  const config = loadConfig({ CONFIG_FILE: file, REDIS_URL: redis.url })
  const connection = createRedis(redis.url, 'worker')
  const client = redis.client()
  const producers = [true, false].map(compressBodies => new EventProducer(connection, { apps: config.apps, prefix: config.redisPrefix, timeoutMs: 10_000, dedupWindowSeconds: 7200, compressBodies }))
  const history = new HistoryRecorder({ redis: connection, prefix: config.redisPrefix, retention: config.history })
  let n = 0
  const measure = async (producer: EventProducer, appName: string, deliver: boolean): Promise<{ perEvent: number, record: number, bodyBytes: number }> => {
    const app = config.apps.find(a => a.name === appName)
    if (app === undefined) throw new Error(appName)
    await client.flushall()
    const before = await usedMemory(client)
    let bodyBytes = 0
    let sample = ''
    for (let i = 0; i < EVENTS; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, EVENTS - i) }, async () => {
        const body = meetingCreatedBody(n++)
        bodyBytes += Buffer.byteLength(body)
        const headers = signedHeaders('s', body)
        const stored = { body: Buffer.from(body), headers: pickStoredHeaders(headers), signatureSha256: sealSignature(headers['x-zm-signature'] as string), event: 'meeting.created' }
        const result = await producer.enqueue(appName, stored, false, readEventEnvelope(stored.body).facts)
        sample = result.eventId ?? sample
      }))
    }
    if (deliver) {
      for (const destination of app.destinations) {
        const key = eventStreamKey(config.redisPrefix, app, destination)
        for (;;) {
          const entries = await client.xrange(key, '-', '+', 'COUNT', 500)
          if (entries.length === 0) break
          const at = Date.now()
          await history.settle(app, destination, key, entries.map(([id]) => id), entries.map(([, fields]) => attemptOutcome(fields[1] ?? '', { outcome: 'delivered', status: 200 }, at, 42)))
        }
      }
    }
    const perEvent = (await usedMemory(client) - before) / EVENTS
    const record = Number(await client.memory('USAGE', eventRecordKey(config.redisPrefix, app, sample), 'SAMPLES', 0))
    return { perEvent, record, bodyBytes: bodyBytes / EVENTS }
  }
  const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '?'
  process.stdout.write(`Redis ${version}, ${EVENTS} events per case\n`)
  for (const [i, producer] of producers.entries()) for (const [name, app, deliver] of [['delivered, 1 destination', 'one', true], ['delivered, 3 destinations', 'three', true], ['waiting, 1 destination (destination down)', 'one', false]] as const) {
    const { perEvent, record, bodyBytes } = await measure(producer, app, deliver)
    process.stdout.write(`bodies ${i === 0 ? 'deflated' : 'as sent '}, ${name}: ${Math.round(perEvent)} B per event (${(perEvent / 1024).toFixed(2)} KiB; body ${Math.round(bodyBytes)} B; MEMORY USAGE of one record ${record} B)\n`)
  }
  connection.disconnect()
} finally {
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
}

async function usedMemory (client: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 'NaN')
}
