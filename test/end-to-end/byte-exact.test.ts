import t from 'tap'
import { request } from 'undici'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay, SECRET, RECALL_APP_ID } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { zoomHeaders } from '../helpers/zoom.js'

const BODY_LIMIT = 64 * 1024

/** Bodies that naive relays break: each must reach the destination with the same SHA-256. */
function hardBodies (): Array<[string, Buffer]> {
  const nearLimitPrefix = '{"event":"meeting.updated","payload":{"pad":"'
  const nearLimitSuffix = '"}}'
  const pad = 'x'.repeat(BODY_LIMIT - 1 - nearLimitPrefix.length - nearLimitSuffix.length)
  return [
    ['emoji and non-ASCII', Buffer.from('{"event":"meeting.created","payload":{"object":{"topic":"Réunion 🎉 会议 \\u00e9 👩🏽‍💻"}}}', 'utf8')],
    ['invalid UTF-8 inside a string', Buffer.concat([Buffer.from('{"event":"meeting.created","payload":{"topic":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}}')])],
    ['odd whitespace and key order', Buffer.from('\n\t {  "payload" : { "b":1 ,"a" :[ 1.0, 1e2, -0 ] } ,\r\n "event":"meeting.started"   }  \n', 'utf8')],
    ['escaped unicode that must not be unescaped', Buffer.from('{"event":"meeting.created","payload":{"t":"\\ud83d\\ude00 \\/ \\u0000"}}', 'utf8')],
    ['byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"event":"meeting.created"}')])],
    ['one byte under the limit', Buffer.from(nearLimitPrefix + pad + nearLimitSuffix)]
  ]
}

t.test('every byte sequence reaches the destination unchanged, with exactly the allowed headers', async t => {
  const redis = await startTestRedis()
  const sink = await startSink()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } })
  t.teardown(async () => { await relay.close(); await sink.close(); await redis.stop() })

  const bodies = hardBodies()
  t.equal(bodies.at(-1)?.[1].length, BODY_LIMIT - 1)
  for (const [name, body] of bodies) {
    const headers = {
      ...zoomHeaders(SECRET, body),
      'x-zm-trackingid': 'v=2.0;clid=us06;rid=WEB_abc',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      authorization: 'Bearer must-not-be-forwarded',
      clientid: 'zoom-client-id',
      cookie: 'a=b',
      'x-custom-header': 'not forwarded'
    }
    const res = await request(relay.webhookUrl(), { method: 'POST', headers, body })
    t.equal(res.statusCode, 200, `${name}: accepted`)
    t.same(await res.body.json(), { status: 'accepted' })
  }
  await sink.waitFor(bodies.length)

  const byHash = new Map(sink.received.map(r => [r.sha256, r]))
  for (const [name, body] of bodies) {
    const got = byHash.get(sha256(body))
    t.ok(got, `${name}: arrived with identical SHA-256`)
    if (got === undefined) continue
    t.ok(got.body.equals(body), `${name}: identical bytes`)
    t.equal(got.method, 'POST')
    t.equal(got.url, `/api/v2/zoom-oauth-apps/${RECALL_APP_ID}/webhook`)
    const expected = zoomHeaders(SECRET, body, Number(got.headers['x-zm-request-timestamp']))
    t.equal(got.headers['x-zm-signature'], expected['x-zm-signature'], `${name}: signature forwarded`)
    const names = Object.keys(got.headers).filter(h => !['host', 'content-length', 'connection'].includes(h)).sort()
    t.same(names, ['content-type', 'traceparent', 'user-agent', 'x-zm-request-timestamp', 'x-zm-signature', 'x-zm-trackingid'], `${name}: exactly the allowed headers`)
    t.equal(got.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(got.headers['user-agent'], 'Zoom Marketplace/1.0a')
    t.equal(got.headers['x-zm-trackingid'], 'v=2.0;clid=us06;rid=WEB_abc')
    t.equal(Number(got.headers['content-length']), body.length)
  }
  t.equal(sink.received.length, bodies.length, 'each delivered once')
})
