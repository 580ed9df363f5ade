import type { IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base'
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVER_ADDRESS, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import type { Logger } from 'pino'
import type { DestinationConfig, Role, TracingConfig } from '../config/config.js'
import type { StoredEvent } from '../store/stored-event.js'
import type { AttemptContext, AttemptResult } from '../relay/delivery-attempt.js'
import { formatTraceparent, parseTraceparent } from './traceparent.js'

/**
 * OpenTelemetry traces of the relay: a span per webhook (web role, with
 * `verify` and `store` children) and a span per delivery attempt (workers),
 * one trace per event. This module is the only one that imports
 * OpenTelemetry, and run-relay.ts imports it dynamically, only when tracing is
 * on: with tracing off no OpenTelemetry code is loaded and the hot path pays
 * one `undefined` check.
 *
 * The webhook span continues Zoom's `traceparent` when Zoom sent one (same
 * trace id), else starts a trace; its own `traceparent` is stored with the
 * event (stored-event.ts), and every delivery attempt, retries included, is
 * its child. Attributes carry names, kinds, counts and statuses only: never
 * a body, secret, signature, header value or destination URL (which may hold
 * a token); only the destination's host name.
 */

/** `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one. */
export const DEFAULT_SERVICE_NAME = 'zoom-webhook-relay'
/** Longest wait for the last spans to reach the collector on shutdown. */
const FLUSH_TIMEOUT_MS = 5000

/** The relay's own attribute names. */
export const RELAY_ATTRIBUTES = {
  role: 'zoom_relay.role',
  app: 'zoom_relay.app',
  event: 'zoom_relay.event',
  outcome: 'zoom_relay.outcome',
  reason: 'zoom_relay.reason',
  destination: 'zoom_relay.destination',
  destinationKind: 'zoom_relay.destination.kind',
  attempt: 'zoom_relay.attempt',
  retry: 'zoom_relay.retry'
} as const

/** Span names. */
export const SPAN_NAMES = {
  webhook: 'zoom.webhook',
  verify: 'zoom.webhook.verify',
  store: 'zoom.webhook.store',
  delivery: 'zoom.delivery'
} as const

/** How a webhook request ended, as the webhook span records it (the `outcome` label of the metrics, plus `not_stored` and `aborted`). */
export type WebhookOutcome = 'accepted' | 'duplicate' | 'challenge' | 'rejected' | 'not_stored' | 'aborted'

/** What the webhook route tells the span once the answer is sent. */
export interface WebhookFacts {
  app: string | undefined
  event: string | undefined
  route: string | undefined
  status: number
}

/** The spans of one webhook request. */
export class WebhookTrace {
  private readonly tracer: Tracer
  private readonly span: Span
  private readonly context: Context
  private step: Span | undefined
  private outcome: WebhookOutcome | undefined
  private reason: string | undefined

  constructor (tracer: Tracer, headers: IncomingHttpHeaders) {
    this.tracer = tracer
    const zoom = (typeof headers.traceparent === 'string' ? remoteContext(headers.traceparent) : undefined) ?? ROOT_CONTEXT
    this.span = tracer.startSpan(SPAN_NAMES.webhook, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST' } }, zoom)
    this.context = trace.setSpan(ROOT_CONTEXT, this.span)
  }

  /** The webhook span's `traceparent`, stored with the event so that its deliveries join this trace. */
  get traceparent (): string {
    const { traceId, spanId, traceFlags } = this.span.spanContext()
    return formatTraceparent({ traceId, spanId, flags: traceFlags })
  }

  /** Starts the child span of a step (ending the one before, if any). */
  begin (step: 'verify' | 'store'): void {
    this.done()
    this.step = this.tracer.startSpan(step === 'verify' ? SPAN_NAMES.verify : SPAN_NAMES.store, { kind: SpanKind.INTERNAL }, this.context)
  }

  /** The current step succeeded. */
  done (): void {
    this.step?.end()
    this.step = undefined
  }

  /** Records how the request ended (the first call counts). */
  settle (outcome: WebhookOutcome, reason?: string): void {
    if (this.outcome !== undefined) return
    this.outcome = outcome
    this.reason = reason
  }

  /** Ends the webhook span (and a step still open, which failed). */
  end (facts: WebhookFacts): void {
    const failed = facts.status >= 500 || this.outcome === 'aborted'
    if (this.step !== undefined) {
      this.step.setStatus({ code: SpanStatusCode.ERROR })
      this.step.end()
      this.step = undefined
    }
    const span = this.span
    span.setAttribute(RELAY_ATTRIBUTES.app, facts.app ?? 'unknown')
    if (facts.event !== undefined) span.setAttribute(RELAY_ATTRIBUTES.event, facts.event)
    span.setAttribute(RELAY_ATTRIBUTES.outcome, this.outcome ?? (facts.status < 400 ? 'accepted' : 'rejected'))
    if (this.reason !== undefined) span.setAttribute(RELAY_ATTRIBUTES.reason, this.reason)
    if (facts.route !== undefined) span.setAttribute(ATTR_HTTP_ROUTE, facts.route)
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, facts.status)
    if (failed) {
      span.setAttribute(ATTR_ERROR_TYPE, this.outcome === 'aborted' ? 'aborted' : String(facts.status))
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end()
  }
}

/** The span of one delivery attempt. */
export class DeliveryTrace {
  private readonly span: Span

  constructor (span: Span) {
    this.span = span
  }

  /** Ends the span with what the attempt came to. */
  end (result: AttemptResult): void {
    const span = this.span
    if (result.outcome === 'delivered') {
      span.setAttribute(RELAY_ATTRIBUTES.outcome, 'delivered')
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status)
    } else {
      const status = result.state.lastStatus
      span.setAttribute(RELAY_ATTRIBUTES.outcome, result.outcome === 'retry' ? 'retry' : 'dead_letter')
      if (result.outcome === 'dead-letter') span.setAttribute(RELAY_ATTRIBUTES.reason, result.reason)
      if (status !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      // The error's message can quote the destination's answer: only its kind goes into the span.
      span.setAttribute(ATTR_ERROR_TYPE, status !== null ? String(status) : result.outcome === 'dead-letter' && result.reason === 'integrity_error' ? 'integrity_error' : 'no_response')
      span.setStatus({ code: SpanStatusCode.ERROR })
    }
    span.end()
  }

  /** Ends the span of an attempt that threw (a bug or Redis, not the destination). */
  fail (err: unknown): void {
    const code = (err as { code?: unknown }).code
    this.span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : 'error')
    this.span.setStatus({ code: SpanStatusCode.ERROR })
    this.span.end()
  }
}

/** What the hot path holds when tracing is on (see webhook-routes.ts and delivery-attempt.ts). */
export class RelayTracing {
  private readonly provider: BasicTracerProvider
  private readonly tracer: Tracer
  private readonly logger: Logger
  /** Host names of destinations, parsed once. */
  private readonly hosts = new WeakMap<DestinationConfig, string>()

  constructor (config: TracingConfig, role: Role, logger: Logger) {
    this.logger = logger
    // Precedence as the specification says: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then ours.
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME, [RELAY_ATTRIBUTES.role]: role }))
      .merge(detectResources({ detectors: [envDetector] }))
    // Headers, timeout, compression and certificates come from the OTEL_EXPORTER_OTLP_* variables, read by the exporter.
    const exporter = new OTLPTraceExporter({ url: config.url })
    this.provider = new BasicTracerProvider({ resource, sampler: new RelaySampler(rootSampler(config)), spanProcessors: [new BatchSpanProcessor(exporter)] })
    this.tracer = this.provider.getTracer('zoom-webhook-relay')
  }

  /** The spans of a webhook request, from its headers (Zoom's `traceparent`, nothing else is read). */
  startWebhook (headers: IncomingHttpHeaders): WebhookTrace {
    return new WebhookTrace(this.tracer, headers)
  }

  /** The span of a delivery attempt: a child of the event's webhook span (or of Zoom's span, or a new trace). */
  startDelivery (ctx: AttemptContext, stored: StoredEvent): DeliveryTrace {
    const parent = remoteContext(stored.traceparent) ?? remoteContext(stored.headers.traceparent) ?? ROOT_CONTEXT
    const attributes: Attributes = {
      [RELAY_ATTRIBUTES.app]: ctx.app.name,
      [RELAY_ATTRIBUTES.destination]: ctx.destination.name,
      [RELAY_ATTRIBUTES.destinationKind]: ctx.destination.kind,
      [RELAY_ATTRIBUTES.event]: stored.event,
      [RELAY_ATTRIBUTES.attempt]: ctx.attempt,
      [RELAY_ATTRIBUTES.retry]: ctx.attempt > 1,
      [ATTR_HTTP_REQUEST_METHOD]: 'POST',
      [ATTR_SERVER_ADDRESS]: this.host(ctx.destination)
    }
    return new DeliveryTrace(this.tracer.startSpan(SPAN_NAMES.delivery, { kind: SpanKind.CLIENT, attributes }, parent))
  }

  /** Sends the spans not exported yet and stops (bounded: a collector that is away does not hold up the shutdown). */
  async shutdown (): Promise<void> {
    const flushed = this.provider.shutdown().then(() => true, (err: Error) => {
      this.logger.warn({ message: err.message }, 'could not send the last spans to the OpenTelemetry collector')
      return true
    })
    if (!await Promise.race([flushed, sleep(FLUSH_TIMEOUT_MS, false, { ref: false })])) {
      this.logger.warn(`the OpenTelemetry collector did not take the last spans within ${FLUSH_TIMEOUT_MS} ms; they are dropped`)
    }
  }

  private host (destination: DestinationConfig): string {
    let host = this.hosts.get(destination)
    if (host === undefined) {
      host = new URL(destination.url).hostname
      this.hosts.set(destination, host)
    }
    return host
  }
}

/**
 * The webhook span (SERVER) makes the decision for its event with the
 * configured sampler, whatever Zoom's sampled flag says (that is Zoom's own
 * choice); its steps and the delivery spans (children, local or through the
 * stored `traceparent`) follow it.
 */
class RelaySampler implements Sampler {
  private readonly root: Sampler
  private readonly parentBased: Sampler

  constructor (root: Sampler) {
    this.root = root
    this.parentBased = new ParentBasedSampler({ root })
  }

  shouldSample (context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    return (kind === SpanKind.SERVER ? this.root : this.parentBased).shouldSample(context, traceId, name, kind, attributes, links)
  }

  toString (): string {
    return `RelaySampler{${this.root.toString()}}`
  }
}

function rootSampler ({ sampler, ratio }: TracingConfig): Sampler {
  switch (sampler) {
    case 'always_on': return new AlwaysOnSampler()
    case 'always_off': return new AlwaysOffSampler()
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio)
  }
}

/** A context whose (remote) parent is `traceparent`; undefined when it is missing or malformed. */
function remoteContext (traceparent: string | undefined): Context | undefined {
  const parts = parseTraceparent(traceparent)
  if (parts === undefined) return undefined
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: parts.traceId, spanId: parts.spanId, traceFlags: parts.flags & 1, isRemote: true })
}

/** Starts tracing for `role`; OpenTelemetry's own warnings (an unreachable collector, say) go to the relay's log. */
export function startRelayTracing (config: TracingConfig, role: Role, logger: Logger): RelayTracing {
  const log = logger.child({ component: 'opentelemetry' })
  const describe = (args: unknown[]): string[] => args.map(a => a instanceof Error ? a.message : String(a))
  diag.setLogger({
    error: (message, ...args) => { log.error({ details: describe(args) }, message) },
    warn: (message, ...args) => { log.warn({ details: describe(args) }, message) },
    info: (message, ...args) => { log.info({ details: describe(args) }, message) },
    debug: (message, ...args) => { log.debug({ details: describe(args) }, message) },
    verbose: (message, ...args) => { log.trace({ details: describe(args) }, message) }
  }, DiagLogLevel.WARN)
  const url = new URL(config.url)
  log.info({ collector: `${url.origin}${url.pathname}`, sampler: config.sampler, ratio: config.ratio }, 'OpenTelemetry tracing on')
  return new RelayTracing(config, role, logger)
}
