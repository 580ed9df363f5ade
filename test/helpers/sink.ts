import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
  sha256: string
}

export interface SinkReply {
  status: number
  headers?: Record<string, string>
  body?: string
  /** Wait this long before answering. */
  delayMs?: number
  /** Destroy the socket instead of answering. */
  reset?: boolean
}

export type SinkBehaviour = (req: ReceivedRequest, index: number) => SinkReply

export interface Sink {
  url: string
  received: ReceivedRequest[]
  /** Replace how the sink answers from now on. */
  behave: (behaviour: SinkBehaviour) => void
  /** The most requests it had in flight at once (arrived, not yet answered). */
  maxInFlight: () => number
  /** Resolves once `count` requests have arrived (or rejects after `timeoutMs`). */
  waitFor: (count: number, timeoutMs?: number) => Promise<void>
  close: () => Promise<void>
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

/** A real HTTP server on 127.0.0.1 standing in for Recall or any destination. */
export async function startSink (behaviour: SinkBehaviour = () => ({ status: 200 })): Promise<Sink> {
  const received: ReceivedRequest[] = []
  let current = behaviour
  const waiters: Array<() => void> = []
  let inFlight = 0
  let maxInFlight = 0
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const record: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, sha256: sha256(body) }
      const index = received.length
      received.push(record)
      for (const w of waiters.splice(0)) w()
      const reply = current(record, index)
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      void (async () => {
        if (reply.delayMs !== undefined) await sleep(reply.delayMs)
        inFlight--
        if (reply.reset === true) { req.socket.destroy(); return }
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '')
      })()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    behave: b => { current = b },
    maxInFlight: () => maxInFlight,
    waitFor: async (count, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`sink got ${received.length} of ${count} requests in ${timeoutMs} ms`)
        await new Promise<void>(resolve => { waiters.push(resolve); setTimeout(resolve, 100).unref() })
      }
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
