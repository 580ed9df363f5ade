import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The destination for the relay figures: counts POSTs (answering 200, or 503
 * while "down") and the distinct events among them (by Zoom's signature,
 * unique per body), remembers when the first and the last arrived, and the
 * most requests it ever had in flight at once.
 * `GET /stats` reads them, `POST /mode/up|down` switches, `POST /delay/<ms>` makes
 * every answer wait (so that requests in flight add up), `POST /reset` clears.
 */
let delayMs = 0
let inFlight = 0
let maxInFlight = 0
let count = 0
let first = 0
let last = 0
let down = false
const seen = new Set<string>()
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') { res.end(JSON.stringify({ count, unique: seen.size, first, last, maxInFlight })); return }
  if (req.url === '/mode/down') { down = true; res.end(); return }
  if (req.url === '/mode/up') { down = false; res.end(); return }
  if (req.url?.startsWith('/delay/') === true) { delayMs = Number(req.url.slice('/delay/'.length)) || 0; res.end(); return }
  if (req.url === '/reset') { count = 0; first = 0; last = 0; maxInFlight = inFlight; seen.clear(); res.end(); return }
  inFlight++
  maxInFlight = Math.max(maxInFlight, inFlight)
  res.once('close', () => { inFlight-- })
  req.on('data', () => {})
  req.on('end', () => {
    if (down) { res.writeHead(503).end(); return }
    const now = performance.now() + performance.timeOrigin
    if (count === 0) first = now
    last = now
    count++
    seen.add(String(req.headers['x-zm-signature']))
    if (delayMs > 0) setTimeout(() => res.writeHead(200).end(), delayMs)
    else res.writeHead(200).end()
  })
})
server.keepAliveTimeout = 10_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`)
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
