import type { TracingConfig } from './config.js'
import type { EnvReader } from './env-reader.js'

/** What the relay's OTLP exporter speaks: HTTP with JSON bodies (see src/tracing/relay-tracing.ts). */
const HTTP_PROTOCOLS = ['http/json', 'http/protobuf']

/**
 * Tracing from the standard OpenTelemetry variables: on when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
 * unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Problems are
 * added to `read.problems` by variable name.
 */
export function readTracingConfig (read: EnvReader): TracingConfig | undefined {
  const disabled = read.string('OTEL_SDK_DISABLED')?.toLowerCase()
  if (disabled !== undefined && disabled !== 'true' && disabled !== 'false') {
    read.problems.push(`OTEL_SDK_DISABLED="${disabled}" is not true or false. Set it to true to turn tracing off, or unset it.`)
  }
  const exporter = read.string('OTEL_TRACES_EXPORTER')
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none') {
    read.problems.push(`OTEL_TRACES_EXPORTER="${exporter}" is not supported: the relay exports traces over OTLP/HTTP only. Use otlp (the default) or none, or unset it.`)
  }
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = read.string(name)
    if (protocol !== undefined && !HTTP_PROTOCOLS.includes(protocol)) {
      read.problems.push(`${name}="${protocol}" is not supported: the relay exports traces over OTLP/HTTP (JSON bodies). Use http/json and point the endpoint at the collector's HTTP port (4318), or unset it.`)
    }
  }
  const specific = read.string('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const general = read.string('OTEL_EXPORTER_OTLP_ENDPOINT')
  if (disabled === 'true' || exporter === 'none') return undefined
  const name = specific !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
  const raw = specific ?? general
  if (raw === undefined) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    url = new URL('invalid:')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    read.problems.push(`${name} is not an absolute http(s) URL. Use the collector's OTLP/HTTP address, e.g. http://otel-collector:4318, or unset it to turn tracing off.`)
    return undefined
  }
  // As the OpenTelemetry specification says: the signal's own variable is used as given, the general one gets `v1/traces`.
  const target = specific !== undefined ? url.href : `${url.href.replace(/\/+$/, '')}/v1/traces`
  return { url: target, ...readSampler(read) }
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const

/** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; the webhook span is the root of the relay's decision either way. */
function readSampler (read: EnvReader): Pick<TracingConfig, 'sampler' | 'ratio'> {
  const named = read.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, 'parentbased_always_on')
  const sampler = named.replace(/^parentbased_/, '') as TracingConfig['sampler']
  const arg = read.string('OTEL_TRACES_SAMPLER_ARG')
  let ratio = 1
  if (sampler === 'traceidratio' && arg !== undefined) {
    ratio = Number(arg)
    if (!/^\d*\.?\d+$/.test(arg) || ratio > 1) {
      read.problems.push(`OTEL_TRACES_SAMPLER_ARG="${arg}" is not a number between 0 and 1. Set the share of traces to keep, e.g. 0.1, or unset it (default 1).`)
      ratio = 1
    }
  }
  return { sampler, ratio }
}
