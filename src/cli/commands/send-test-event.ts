import { createHash, timingSafeEqual } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import type { AppConfig, Config } from '../../config/config.js'
import { DeliveryTracker, isFinal, type DestinationDelivery } from '../../operations/delivery-tracker.js'
import { validationKey } from '../../store/stream-keys.js'
import { challengeResponse, URL_VALIDATION_EVENT } from '../../zoom/challenge.js'
import { isSampleEvent, SAMPLE_EVENTS, sampleEventBody, urlValidationBody } from '../../zoom/sample-events.js'
import { zoomSignature } from '../../zoom/signature.js'
import { EXIT, usageError } from '../cli-error.js'
import type { ConfigLoader } from './command.js'
import { openRelayQueues } from './relay-connection.js'

export const SEND_TEST_EVENT_USAGE = `Usage: zoom-relay send-test-event [--url URL] [--app NAME] [--event NAME | --validate]
                                  [--follow] [--timeout 30s] [--json]

Sends a sample Zoom webhook, signed with the app's Secret Token exactly as Zoom signs, to a running relay and
prints the HTTP status, the answer and the time it took. A check of a deployment from end to end: the event is
real to the relay and reaches every destination that takes it (Recall included).

Options:
  --url URL        where to send it (default: http://<HOST or 127.0.0.1>:<PORT><the app's path>)
  --app NAME       which app's token and path (default: the only app, or "default")
  --event NAME     ${SAMPLE_EVENTS.join(', ')} (default: meeting.created)
  --validate       send an endpoint.url_validation instead and check the encryptedToken in the answer
  --follow         then wait until each destination has the event (or its URL validation is on record),
                   reading the relay's Redis (REDIS_URL, or the embedded one of a running npm start)
  --timeout T      how long --follow waits: 30s, 2m, 500ms (default 30s)
  --json           one JSON object instead of lines

Exit codes: 0 accepted (and, with --follow, delivered to every destination that takes it; or the validation
answered correctly), 1 refused, failed, unreachable or not delivered in time, 64 bad usage, 78 bad configuration.`

/** What the command found, as `--json` prints it. */
export interface TestEventReport {
  url: string
  app: string
  event: string
  bytes: number
  /** SHA-256 (hex) of the body sent: what a destination must receive. */
  sha256: string
  status: number | null
  answer: string
  ms: number
  ok: boolean
  /** `--validate`: whether `encryptedToken` is the HMAC of the `plainToken` sent. */
  encryptedTokenValid?: boolean
  /** `--follow` of an event: each destination's state when the command ended. */
  deliveries?: DestinationDelivery[]
  /** `--follow` of a validation: whether the relay recorded it in Redis. */
  validationRecorded?: boolean
  timedOut?: boolean
  error?: string
}

const POLL_MS = 200
const REQUEST_TIMEOUT_MS = 10_000

export async function sendTestEventCommand (args: string[], load: ConfigLoader, out: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      app: { type: 'string' },
      event: { type: 'string' },
      validate: { type: 'boolean', default: false },
      follow: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '30s' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { out(`${SEND_TEST_EVENT_USAGE}\n`); return EXIT.ok }
  if (values.validate && values.event !== undefined) throw usageError('--validate sends a URL validation: leave out --event.')
  const event = values.event ?? 'meeting.created'
  if (!values.validate && !isSampleEvent(event)) throw usageError(`--event must be one of ${SAMPLE_EVENTS.join(', ')}, not "${event}".`)
  const timeoutMs = durationMs('--timeout', values.timeout)
  // The app's Secret Token signs the sample, so the whole configuration is read, as the relay reads it.
  const config = load('full')
  const app = chooseApp(config, values.app)
  const url = values.url ?? defaultUrl(config, app)
  if (!/^https?:\/\//.test(url)) throw usageError(`--url must be an http:// or https:// URL, not "${url}".`)

  const say = (line: string): void => { if (!values.json) out(`${line}\n`) }
  // Redis is opened before sending, so that --follow compares only what is stored afterwards.
  const relay = values.follow ? await openRelayQueues(config) : undefined
  try {
    const tracker = relay === undefined || values.validate ? undefined : await DeliveryTracker.before(relay.redis, relay.queues, app.name, config.redisPrefix)
    const validationBefore = relay !== undefined && values.validate ? await relay.redis.hget(validationKey(config.redisPrefix), app.name) : null

    const validation = values.validate ? urlValidationBody() : undefined
    const body = Buffer.from(validation?.body ?? sampleEventBody(event as typeof SAMPLE_EVENTS[number]), 'utf8')
    const report: TestEventReport = {
      url,
      app: app.name,
      event: validation === undefined ? event : URL_VALIDATION_EVENT,
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      status: null,
      answer: '',
      ms: 0,
      ok: false
    }
    say(`POST ${url}  ${report.event}  app ${app.name}, ${report.bytes} bytes, sha256 ${report.sha256}`)
    await send(report, body, app)
    if (report.error !== undefined) say(`→ no answer: ${report.error}`)
    else say(`→ ${report.status ?? '-'} ${report.answer}  (${report.ms} ms)`)

    if (validation !== undefined) {
      report.encryptedTokenValid = report.status === 200 && encryptedTokenValid(report.answer, app, validation.plainToken)
      report.ok = report.encryptedTokenValid
      if (report.status === 200) say(report.encryptedTokenValid ? 'encryptedToken matches the Secret Token: Zoom would mark the URL as validated' : 'encryptedToken does NOT match this Secret Token: Zoom would refuse the URL')
    } else {
      report.ok = report.status === 200 && answerStatus(report.answer) === 'accepted'
      if (report.status === 200 && !report.ok) say('the relay had stored these bytes before (duplicate): nothing new to deliver')
    }
    if (report.status === 401) say('401: the relay refused the signature. Is ZOOM_WEBHOOK_SECRET_TOKEN (or the app\'s secretTokens) the one the relay runs with?')

    if (relay !== undefined && report.ok) {
      say(`following (at most ${values.timeout})…`)
      const deadline = Date.now() + timeoutMs
      if (tracker !== undefined) {
        report.deliveries = await follow(async () => await tracker.check(body, event), deliveries => deliveries.every(d => isFinal(d.progress)), deadline)
        for (const d of report.deliveries) say(`  ${d.destination.padEnd(16)} ${describe(d)}`)
        report.ok = report.deliveries.every(d => d.progress.state === 'delivered' || d.progress.state === 'filtered')
      } else {
        const recorded = await follow(async () => await relay.redis.hget(validationKey(config.redisPrefix), app.name), at => at !== null && at !== validationBefore, deadline)
        report.validationRecorded = recorded !== null && recorded !== validationBefore
        say(report.validationRecorded ? `  URL validation recorded in Redis at ${new Date(Number(recorded)).toISOString()} (zoom-relay status shows it)` : '  URL validation not recorded in Redis')
        report.ok = report.validationRecorded
      }
      report.timedOut = !report.ok && Date.now() >= deadline
      if (report.timedOut) say(`not done within ${values.timeout}`)
    }
    if (values.json) out(`${JSON.stringify(report, null, 2)}\n`)
    return report.ok ? EXIT.ok : EXIT.failed
  } finally {
    await relay?.close()
  }
}

/** POSTs `body` signed with the app's current token; fills status, answer and time into `report`. */
async function send (report: TestEventReport, body: Buffer, app: AppConfig): Promise<void> {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const started = performance.now()
  try {
    const res = await request(report.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Zoom Marketplace/1.0a',
        'x-zm-request-timestamp': timestamp,
        'x-zm-signature': zoomSignature(app.secretTokens[0] ?? '', timestamp, body)
      },
      body,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS
    })
    report.answer = await res.body.text()
    report.status = res.statusCode
  } catch (err) {
    const { code, message } = err as { code?: string, message: string }
    report.error = code === undefined ? message : `${code} ${message}`
  }
  report.ms = Math.round(performance.now() - started)
}

/** Polls `read` until `done` holds or the deadline passes; returns the last value read. */
async function follow<T> (read: () => Promise<T>, done: (value: T) => boolean, deadline: number): Promise<T> {
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() >= deadline) return value
    await sleep(POLL_MS)
  }
}

function describe ({ progress, entryId }: DestinationDelivery): string {
  const entry = entryId === undefined ? '' : `  (entry ${entryId})`
  switch (progress.state) {
    case 'filtered': return 'not sent: its events filter leaves this event out'
    case 'waiting': return `stored, not delivered yet${entry}`
    case 'delivered': return `delivered${progress.attempts > 1 ? ` after ${progress.attempts} attempts` : ''}${entry}`
    case 'retrying': return `retrying: ${progress.attempts} attempt(s), last ${progress.lastStatus ?? progress.lastError}${entry}`
    case 'dead-lettered': return `dead letter (${progress.reason}): last ${progress.lastStatus ?? '-'} ${progress.lastError}${entry}`
  }
}

function chooseApp (config: Config, name: string | undefined): AppConfig {
  if (name !== undefined) {
    const app = config.apps.find(a => a.name === name)
    if (app === undefined) throw usageError(`--app: no app "${name}" (configured: ${config.apps.map(a => a.name).join(', ')}).`)
    return app
  }
  const app = config.apps.length === 1 ? config.apps[0] : config.apps.find(a => a.name === 'default')
  if (app === undefined) throw usageError(`several apps are configured: choose one with --app (${config.apps.map(a => a.name).join(', ')}).`)
  return app
}

/** The relay this configuration runs: a wildcard bind address is reached on loopback. */
export function defaultUrl (config: Pick<Config, 'host' | 'port'>, app: Pick<AppConfig, 'path'>): string {
  const host = ['', '0.0.0.0', '::', '[::]'].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host
  return `http://${host}:${config.port}${app.path}`
}

function encryptedTokenValid (answer: string, app: AppConfig, plainToken: string): boolean {
  try {
    const parsed = JSON.parse(answer) as { plainToken?: unknown, encryptedToken?: unknown }
    if (parsed.plainToken !== plainToken || typeof parsed.encryptedToken !== 'string') return false
    // Derived from the secret: compared in constant time like every other secret-keyed value.
    const expected = Buffer.from(challengeResponse(app.secretTokens[0] ?? '', plainToken).encryptedToken)
    const given = Buffer.from(parsed.encryptedToken)
    return given.length === expected.length && timingSafeEqual(given, expected)
  } catch {
    return false
  }
}

function answerStatus (answer: string): unknown {
  try {
    return (JSON.parse(answer) as { status?: unknown }).status
  } catch {
    return undefined
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

/** `30s`, `2m`, `500ms` → milliseconds. */
export function durationMs (flag: string, raw: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(raw)
  if (match === null || Number(match[1]) === 0) throw usageError(`${flag} must be a duration such as 30s, 2m or 500ms, not "${raw}".`)
  return Number(match[1]) * (UNITS[match[2] as string] ?? 0)
}
