import { Pool } from 'undici'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/**
 * The relay ceiling: plain undici POSTs of the same bodies and headers to the
 * sink, `concurrency` at a time, no queue. Args: <sink url> <count> <concurrency> <secret>.
 */
const [url = '', countArg = '0', concurrencyArg = '64', secret = ''] = process.argv.slice(2)
const count = Number(countArg)
const concurrency = Number(concurrencyArg)
const pool = new Pool(url, { connections: concurrency })
let next = 0
let failed = 0
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < count) {
    const body = meetingCreatedBody(next++)
    const res = await pool.request({ method: 'POST', path: '/api/v2/zoom-oauth-apps/bench/webhook', headers: signedHeaders(secret, body), body })
    await res.body.dump()
    if (res.statusCode !== 200) failed++
  }
}))
await pool.close()
process.stdout.write(`${JSON.stringify({ failed })}\n`)
