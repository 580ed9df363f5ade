import t from 'tap'
import { request } from 'undici'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { urlValidation, zoomHeaders } from '../helpers/zoom.js'

/**
 * An answered URL validation is on record for `zoom-relay status` even when
 * it came before the web role's Redis connection was up: Zoom saw it
 * answered, so the status must not say "never validated".
 */
const KEY = 'zoom-relay:url-validations'

async function validate (url: string): Promise<number> {
  const body = urlValidation('qgg8vlvZRS6UYooatFL8Aw')
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

t.test('a URL validation sent right after start-up is recorded', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web' })
  t.teardown(async () => { await relay.close() })
  t.equal(await validate(relay.webhookUrl()), 200, 'answered at once')
  const client = redis.client()
  await eventually(async () => await client.hget(KEY, 'default') !== null, 10_000, 'validation on record')
  t.pass('on record')
})

t.test('a URL validation answered while Redis is not reachable yet is recorded once it is', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  await redis.kill()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web' })
  t.teardown(async () => { await relay.close() })
  const before = Date.now()
  t.equal(await validate(relay.webhookUrl()), 200, 'the challenge needs no Redis')
  // Long enough for a single attempt, made at once, to have failed.
  await new Promise(resolve => setTimeout(resolve, 1500))
  await redis.start()
  const client = redis.client()
  let recorded: string | null = null
  await eventually(async () => (recorded = await client.hget(KEY, 'default')) !== null, 20_000, 'validation on record after Redis came up')
  t.ok(Number(recorded) >= before - 1000, 'the time of the answer')
})
