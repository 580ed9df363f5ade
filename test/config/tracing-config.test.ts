import t from 'tap'
import { configProblems } from '../helpers/config-problems.js'
import { loadConfig } from '../../src/config/load-config.js'

type Env = Record<string, string | undefined>
const BASE: Env = { ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-secret', RECALL_ZOOM_OAUTH_APP_ID: 'app-1', REDIS_URL: 'redis://127.0.0.1:6379' }

const tracing = (env: Env): ReturnType<typeof loadConfig>['tracing'] => loadConfig({ ...BASE, ...env }).tracing

const problemsOf = (env: Env): string[] => configProblems(() => loadConfig({ ...BASE, ...env }), { mustFail: true })

t.test('off unless an OTLP endpoint is set', async t => {
  t.equal(tracing({}), undefined, 'no endpoint: off')
  t.notOk('tracing' in loadConfig(BASE), 'no tracing key at all')
  t.equal(tracing({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }), undefined, 'other OTEL_* variables alone: off')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), undefined, 'OTEL_SDK_DISABLED=true: off')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }), undefined, 'case-insensitive')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined, 'OTEL_TRACES_EXPORTER=none: off')
})

t.test('the traces URL as the OpenTelemetry specification builds it', async t => {
  t.same(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { url: 'http://collector:4318/v1/traces', sampler: 'always_on', ratio: 1 })
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/base/' })?.url, 'https://otel.example.com/base/v1/traces', 'general endpoint: v1/traces appended')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })?.url, 'http://c:4318/custom', 'traces endpoint: as given')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/v1/traces' })?.url, 'http://b:4318/v1/traces', 'the specific one wins')
  t.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })?.url, 'http://c:4318/v1/traces', 'explicit defaults accepted')
})

t.test('sampler', async t => {
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }
  t.match(tracing({ ...on, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), { sampler: 'traceidratio', ratio: 0.25 })
  t.match(tracing({ ...on, OTEL_TRACES_SAMPLER: 'always_off' }), { sampler: 'always_off' })
  t.match(tracing({ ...on, OTEL_TRACES_SAMPLER: 'traceidratio' }), { sampler: 'traceidratio', ratio: 1 }, 'ratio defaults to 1')
  t.match(problemsOf({ ...on, OTEL_TRACES_SAMPLER: 'jaeger_remote' }), [/^OTEL_TRACES_SAMPLER="jaeger_remote" is not one of/])
  t.match(problemsOf({ ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }), [/^OTEL_TRACES_SAMPLER_ARG="1.5" is not a number between 0 and 1/])
})

t.test('bad values stop the start with the variable named, never echoing a URL that may hold credentials', async t => {
  const problems = problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })
  t.match(problems, [/^OTEL_EXPORTER_OTLP_ENDPOINT is not an absolute http\(s\) URL/])
  t.notMatch(problemsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://user:s3cret@c/x' }).join(' '), /s3cret/, 'URL not echoed')
  t.match(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), [/^OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported.*4318/])
  t.match(problemsOf({ OTEL_TRACES_EXPORTER: 'zipkin' }), [/^OTEL_TRACES_EXPORTER="zipkin" is not supported/])
  t.match(problemsOf({ OTEL_SDK_DISABLED: 'yes' }), [/^OTEL_SDK_DISABLED="yes" is not true or false/])
})
