import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** One span as the receiver decoded it: ids as lower-case hex, attributes as plain values. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  /** `''` for a root span. */
  parentSpanId: string
  name: string
  kind: number
  attributes: Record<string, string | number | boolean>
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number
  resource: Record<string, string | number | boolean>
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the OTLP/HTTP base URL (traces arrive at `/v1/traces`). */
  url: string
  /** Every request body as it arrived (decompressed), for leak checks. */
  payloads: string[]
  spans: () => ReceivedSpan[]
  close: () => Promise<void>
}

interface AnyValue { stringValue?: string, intValue?: number | string, boolValue?: boolean, doubleValue?: number }
interface KeyValue { key: string, value: AnyValue }
interface JsonSpan { traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, attributes?: KeyValue[], status?: { code?: number } }
interface ExportRequest { resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }, scopeSpans?: Array<{ spans?: JsonSpan[] }> }> }

/**
 * A real OTLP/HTTP receiver on 127.0.0.1 standing in for an OpenTelemetry
 * collector: takes `POST /v1/traces` with JSON bodies (what
 * @opentelemetry/exporter-trace-otlp-http sends), answers as the collector
 * does, and decodes the spans. Any other path or content type gets 415/404,
 * so a wrongly configured exporter fails the test instead of passing it.
 */
export async function startOtlpReceiver (): Promise<OtlpReceiver> {
  const payloads: string[] = []
  const decoded: ReceivedSpan[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') { res.writeHead(404).end(); return }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) { res.writeHead(415).end(); return }
      let raw = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
      const text = raw.toString('utf8')
      payloads.push(text)
      try {
        decoded.push(...decode(JSON.parse(text) as ExportRequest))
      } catch {
        res.writeHead(400).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    payloads,
    spans: () => [...decoded],
    close: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

function decode (request: ExportRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = []
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributes(resourceSpans.resource?.attributes)
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: span.parentSpanId === undefined ? '' : hexId(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          attributes: attributes(span.attributes),
          statusCode: span.status?.code ?? 0,
          resource
        })
      }
    }
  }
  return spans
}

function attributes (list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue
    else if (value.intValue !== undefined) out[key] = Number(value.intValue)
    else if (value.boolValue !== undefined) out[key] = value.boolValue
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue
  }
  return out
}

/** OTLP/JSON carries ids as hex; protobuf-style JSON as base64. Either way: lower-case hex. */
function hexId (id: string): string {
  if (id === '') return ''
  return /^[\da-f]+$/i.test(id) && (id.length === 32 || id.length === 16) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex')
}
