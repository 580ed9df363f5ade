import { connect, type Socket } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { openStream } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

/** A raw TCP client: sends `data` and collects what the server says until it closes the connection. */
async function rawClient (url: string, data: string): Promise<{ socket: Socket, closed: Promise<string> }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  let answer = ''
  socket.on('data', (d: Buffer) => { answer += d.toString() })
  socket.on('error', () => {})
  const closed = new Promise<string>(resolve => socket.once('close', () => resolve(answer)))
  socket.write(data)
  return { socket, closed }
}

async function postEvent (url: string, id: number): Promise<number> {
  const body = meetingCreated(id)
  const res = await request(url, { method: 'POST', headers: zoomHeaders(SECRET, body), body })
  await res.body.dump()
  return res.statusCode
}

t.test('slow or stalled clients are cut off with 408 and never pin the server', async t => {
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { HTTP_REQUEST_TIMEOUT_MS: '500' } })
  const stream = openStream(redis.url)
  t.teardown(async () => { await relay.close(); await stream.close(); await redis.stop() })
  const url = relay.webUrl ?? ''

  const stalledHeaders = await rawClient(url, 'POST /zoom/webhook HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n')
  const body = meetingCreated(1)
  const headers = zoomHeaders(SECRET, body)
  const stalledBody = await rawClient(url, `POST /zoom/webhook HTTP/1.1\r\nHost: relay\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`)

  t.equal(await postEvent(relay.webhookUrl(), 2), 200, 'a normal request is served while two clients stall')
  t.match(await stalledHeaders.closed, /^HTTP\/1\.1 408/, 'stalled headers: 408, connection closed')
  t.match(await stalledBody.closed, /^HTTP\/1\.1 408/, 'stalled body: 408, connection closed')
  t.equal(await stream.count(), 1, 'only the complete request was stored')
})

t.test('HTTP_MAX_CONNECTIONS: connections over the limit are refused, and served again once others close', async t => {
  const redis = await startTestRedis()
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', role: 'web', env: { HTTP_MAX_CONNECTIONS: '3' } })
  t.teardown(async () => { await relay.close(); await redis.stop() })
  const url = relay.webUrl ?? ''
  const held = await Promise.all([1, 2, 3].map(async () => await rawClient(url, '')))
  const refused = await rawClient(url, 'GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n')
  t.equal(await refused.closed, '', 'the fourth connection is closed without an answer')
  for (const c of held) c.socket.destroy()
  await Promise.all(held.map(async c => await c.closed))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await postEvent(relay.webhookUrl(), 3), 200, 'served again')
})
