/**
 * A stand-in destination for the compose `demo` profile (and for trying the
 * relay without a Recall account): an HTTP server that answers 200 to every
 * POST and prints, per request, the body's SHA-256 and whether its Zoom
 * signature verifies with the Secret Token — what Recall checks.
 *
 *   ZOOM_WEBHOOK_SECRET_TOKEN=… DEMO_SINK_PORT=9000 node dist/scripts/demo-sink.js
 *
 * Nothing of the body beyond the event name is printed; never the token or the signature.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { verifyZoomSignature } from '../src/zoom/signature.js'

export interface DemoSinkOptions {
  /** Tokens a signature may be made with (the relay's Secret Token). */
  secretTokens: readonly string[]
  /** @defaultValue 9000 */
  port?: number
  /** @defaultValue `0.0.0.0` */
  host?: string
  /** Where each line goes. @defaultValue stdout */
  out?: (line: string) => void
}

export interface DemoSink {
  url: string
  close: () => Promise<void>
}

/** Largest body kept (Zoom's own are far smaller); more is answered 413. */
const MAX_BODY_BYTES = 4 * 1024 * 1024

export async function startDemoSink (opts: DemoSinkOptions): Promise<DemoSink> {
  const out = opts.out ?? ((line: string) => { process.stdout.write(`${line}\n`) })
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }).end(); return }
      if (size > MAX_BODY_BYTES) { res.writeHead(413).end(); return }
      const body = Buffer.concat(chunks)
      out(describe(req.url ?? '', req.headers, body, opts.secretTokens))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}')
    })
  })
  await new Promise<void>(resolve => server.listen(opts.port ?? 9000, opts.host ?? '0.0.0.0', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${opts.host === undefined || opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

/** One line per request: path, event, size, SHA-256, signature verdict. */
function describe (path: string, headers: IncomingHttpHeaders, body: Buffer, secretTokens: readonly string[]): string {
  const sha256 = createHash('sha256').update(body).digest('hex')
  let verdict: string
  try {
    verifyZoomSignature(header(headers['x-zm-signature']), header(headers['x-zm-request-timestamp']), body, { secretTokens })
    verdict = 'signature valid'
  } catch (err) {
    verdict = `signature INVALID (${(err as { reason?: string }).reason ?? (err as Error).message})`
  }
  return `POST ${path.replace(/\?.*$/, '')}  event=${eventName(body)}  bytes=${body.length}  sha256=${sha256}  ${verdict}`
}

const header = (value: string | string[] | undefined): string | undefined => Array.isArray(value) ? value[0] : value

function eventName (body: Buffer): string {
  try {
    const event = (JSON.parse(body.toString('utf8')) as { event?: unknown }).event
    return typeof event === 'string' ? event.replace(/[^\w.-]/g, '?') : '-'
  } catch {
    return '-'
  }
}

// Run as a program (node dist/scripts/demo-sink.js), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const token = process.env.ZOOM_WEBHOOK_SECRET_TOKEN ?? ''
  if (token === '') {
    process.stderr.write('demo-sink: set ZOOM_WEBHOOK_SECRET_TOKEN to the relay\'s Secret Token (to check signatures)\n')
    process.exit(78)
  }
  const port = Number(process.env.DEMO_SINK_PORT ?? '9000')
  const sink = await startDemoSink({ secretTokens: [token], port })
  process.stdout.write(`demo-sink: listening on port ${port}; each POST is answered 200 and described here\n`)
  const stop = (): void => { void sink.close().then(() => process.exit(0)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
