import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { eventually, metricValue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/**
 * A request that cannot be from Zoom is refused from its headers alone: the
 * relay answers before the body has arrived, so an unauthenticated client
 * cannot make it buffer (or wait for) a body. Each request below announces a
 * body, sends a few bytes of it and never the rest; the answer must come
 * anyway. The request timeout is long, so no answer could be a timeout's.
 */
async function setup (t: Test) {
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { HTTP_REQUEST_TIMEOUT_MS: '120000' } })
  t.teardown(async () => { await relay.close(); await redis.stop() })
  return relay
}

interface Partial { status: number, body: string, socket: Socket }

/** Sends the request line, `headers` and 10 of the announced bytes; resolves with the answer, read while the body is still unfinished. */
async function sendHalf (t: Test, url: string, path: string, headers: Record<string, string>): Promise<Partial> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  t.teardown(() => { socket.destroy() })
  const announced = 100_000
  const lines = [`POST ${path} HTTP/1.1`, `host: ${hostname}:${port}`, `content-length: ${announced}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  socket.write(`${lines.join('\r\n')}\r\n\r\n{"event":"`)
  let raw = ''
  socket.on('data', (d: Buffer) => { raw += d.toString('latin1') })
  await eventually(() => /\r\n\r\n/.test(raw) && raw.includes('}'), 20_000, `an answer to ${path} before the body was finished`)
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body, socket }
}

t.test('missing, malformed or stale Zoom headers and unknown apps are refused before the body is read', async t => {
  const relay = await setup(t)
  const good = zoomHeaders(SECRET, meetingCreated(1))
  const { 'x-zm-signature': signature = '', 'x-zm-request-timestamp': timestamp = '', ...rest } = good
  const stale = zoomHeaders(SECRET, meetingCreated(1), Math.floor(Date.now() / 1000) - 3600)
  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ['no timestamp', '/zoom/webhook', { ...rest, 'x-zm-signature': signature }, 401, 'timestamp_missing'],
    ['no signature', '/zoom/webhook', { ...rest, 'x-zm-request-timestamp': timestamp }, 401, 'signature_missing'],
    ['malformed timestamp', '/zoom/webhook', { ...good, 'x-zm-request-timestamp': 'yesterday' }, 401, 'timestamp_malformed'],
    ['malformed signature', '/zoom/webhook', { ...good, 'x-zm-signature': 'v0=XYZ' }, 401, 'signature_malformed'],
    ['timestamp outside the window', '/zoom/webhook', stale, 401, 'timestamp_out_of_window'],
    ['unknown app', '/zoom/webhook/nobody', good, 404, 'unknown_app']
  ]
  for (const [what, path, headers, status, reason] of cases) {
    const answer = await sendHalf(t, relay.webUrl ?? '', path, headers)
    t.equal(answer.status, status, `${what}: ${status} before the body`)
    t.match(answer.body, /"error":"ZR_/, `${what}: the usual error body`)
    t.equal(await metricValue(relay.metricsUrl, 'zoom_relay_webhooks_received_total', { outcome: 'rejected', reason }), 1, `${what}: counted as ${reason}`)
    answer.socket.destroy()
  }
})

t.test('a request with good headers still gets its body read, verified and stored', async t => {
  const relay = await setup(t)
  const body = meetingCreated(2)
  const res = await fetch(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  t.equal(res.status, 200)
  t.same(await res.json(), { status: 'accepted' })
  const wrong = await fetch(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders('another-secret', body), body })
  t.equal(wrong.status, 401, 'a signature over the body is still checked once the body is in')
  await wrong.body?.cancel()
})
