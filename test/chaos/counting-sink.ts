import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** How the destination answers one request. */
export type Reply =
  | { status: number, retryAfter?: string, delayMs?: number }
  | { reset: true, delayMs?: number }

/**
 * A destination that counts, per body SHA-256, the deliveries it completed:
 * a 2xx answer that was fully written to a client still waiting for it. A
 * request the relay gave up on (timeout) or a reset connection is not a
 * delivery, exactly as the relay sees it. It also counts a body arriving
 * while an earlier request with the same body is still open ("re-sent in
 * flight", which the job lock must prevent).
 */
export class CountingSink {
  readonly delivered = new Map<string, number>()
  requests = 0
  resentInFlight = 0
  private readonly open = new Map<string, number>()
  private server: Server | undefined
  behaviour: (hash: string, n: number) => Reply

  constructor (behaviour: (hash: string, n: number) => Reply = () => ({ status: 200 })) {
    this.behaviour = behaviour
  }

  get url (): string {
    const { port } = this.server?.address() as AddressInfo
    return `http://127.0.0.1:${port}`
  }

  async start (): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const hash = createHash('sha256').update(Buffer.concat(chunks)).digest('hex')
        const n = this.requests++
        if ((this.open.get(hash) ?? 0) > 0) this.resentInFlight++
        this.open.set(hash, (this.open.get(hash) ?? 0) + 1)
        let closed = false
        const done = (): void => {
          if (closed) return
          closed = true
          this.open.set(hash, (this.open.get(hash) ?? 1) - 1)
        }
        // The relay giving up (timeout) closes the connection: that attempt is no longer in flight.
        res.on('close', done)
        const reply = this.behaviour(hash, n)
        void (async () => {
          if (reply.delayMs !== undefined) await sleep(reply.delayMs)
          if ('reset' in reply || res.destroyed) { req.socket.destroy(); done(); return }
          res.on('finish', () => {
            if (reply.status >= 200 && reply.status < 300) this.delivered.set(hash, (this.delivered.get(hash) ?? 0) + 1)
          })
          res.writeHead(reply.status, reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter }).end()
        })()
      })
    })
    this.server.keepAliveTimeout = 5000
    await new Promise<void>(resolve => this.server?.listen(0, '127.0.0.1', resolve))
  }

  async close (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise(resolve => this.server?.close(resolve))
  }
}
