import t from 'tap'
import type { RetryConfig } from '../../src/config/config.js'
import { loadConfig } from '../../src/config/load-config.js'
import { backoffDelay, isRetryableStatus, parseRetryAfter, retryDelay, retryHorizonMs } from '../../src/retry/retry-policy.js'
import { seededRandom } from '../helpers/random.js'

const DEFAULTS: RetryConfig = loadConfig({ ZOOM_WEBHOOK_SECRET_TOKEN: 's', RECALL_ZOOM_OAUTH_APP_ID: 'a' }).retry
const HOUR = 3_600_000
const SMALL: RetryConfig = { attempts: 10, baseDelayMs: 100, maxDelayMs: 10_000, retryAfterMaxMs: 60_000 }

t.test('isRetryableStatus', async t => {
  for (const status of [408, 425, 429, 500, 501, 502, 503, 504, 507, 520, 599]) t.equal(isRetryableStatus(status), true, `${status} is retried`)
  for (const status of [400, 401, 403, 404, 405, 409, 410, 411, 413, 415, 422, 426, 431, 451]) t.equal(isRetryableStatus(status), false, `${status} is not retried`)
  for (const status of [200, 201, 202, 204, 301, 302, 303, 304, 307, 308]) t.equal(isRetryableStatus(status), false, `${status} is not a retryable failure`)
})

t.test('backoffDelay without jitter (random = 0.5) doubles from baseDelayMs up to maxDelayMs', async t => {
  const mid = (): number => 0.5
  t.strictSame([1, 2, 3, 4, 5, 6, 7, 8].map(n => backoffDelay(n, SMALL, mid)), [100, 200, 400, 800, 1600, 3200, 6400, 10_000])
  t.equal(backoffDelay(0, SMALL, mid), 100, 'attemptsMade 0 is treated as 1')
  t.equal(backoffDelay(-3, SMALL, mid), 100, 'negative is treated as 1')
  t.equal(backoffDelay(50, SMALL, mid), 10_000, 'capped')
  t.equal(backoffDelay(5000, SMALL, mid), 10_000, 'capped even when 2^n overflows to Infinity')
  t.strictSame([1, 2, 11, 12, 13, 35].map(n => backoffDelay(n, DEFAULTS, mid)), [1000, 2000, 1_024_000, 2_048_000, HOUR, HOUR], 'defaults: 1 s doubling, capped at 1 h')
})

t.test('retryDelay: a Retry-After lengthens the scheduled wait, never shortens it', async t => {
  const mid = (): number => 0.5
  t.equal(retryDelay(3, SMALL, undefined, mid), 400, 'no Retry-After: the schedule')
  t.equal(retryDelay(3, SMALL, 0, mid), 400, 'Retry-After 0 (or a past date): the schedule')
  t.equal(retryDelay(3, SMALL, 399, mid), 400, 'shorter: the schedule')
  t.equal(retryDelay(3, SMALL, 5000, mid), 5000, 'longer: the Retry-After')
})

t.test('backoffDelay jitter stays within ±20 % and uses the whole range', async t => {
  const random = seededRandom(20_261_124)
  for (const attempt of [1, 2, 3, 5, 7]) {
    const exact = 100 * 2 ** (attempt - 1)
    const samples = Array.from({ length: 2000 }, () => backoffDelay(attempt, SMALL, random))
    const min = Math.min(...samples)
    const max = Math.max(...samples)
    t.ok(min >= Math.round(exact * 0.8) && max <= Math.round(exact * 1.2), `attempt ${attempt}: ${min}..${max} within ${exact} ± 20 %`)
    t.ok(min <= exact * 0.82 && max >= exact * 1.18, `attempt ${attempt}: the jitter spreads over the range`)
    t.ok(samples.every(Number.isInteger), `attempt ${attempt}: whole milliseconds`)
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    t.ok(Math.abs(mean - exact) < exact * 0.02, `attempt ${attempt}: centred (mean ${mean.toFixed(1)})`)
  }
  t.equal(backoffDelay(3, SMALL, () => 0), 320, 'random 0: -20 %')
  t.equal(backoffDelay(3, SMALL, () => 0.999_999_9), 480, 'random → 1: +20 %')
  const real = Array.from({ length: 1000 }, () => backoffDelay(4, SMALL))
  t.ok(real.every(d => d >= 640 && d <= 960), 'the default random source is bounded too')
})

t.test('backoffDelay never exceeds maxDelayMs, even with jitter', async t => {
  const random = seededRandom(7)
  for (const attempt of [8, 9, 20, 36, 1000]) {
    const samples = Array.from({ length: 500 }, () => backoffDelay(attempt, SMALL, random))
    t.ok(samples.every(d => d >= 8000 && d <= 10_000), `attempt ${attempt}: within [0.8 × max, max]`)
  }
  t.equal(backoffDelay(8, SMALL, () => 0.999), 10_000, 'upward jitter is clipped at the cap')
  const hours = Array.from({ length: 500 }, () => backoffDelay(30, DEFAULTS, random))
  t.ok(hours.every(d => d >= 0.8 * HOUR && d <= HOUR), 'defaults: at most one hour')
})

t.test('retryHorizonMs', async t => {
  t.strictSame(DEFAULTS, { attempts: 36, baseDelayMs: 1000, maxDelayMs: HOUR, retryAfterMaxMs: HOUR }, 'default RetryConfig from loadConfig')
  const horizon = retryHorizonMs(DEFAULTS)
  // 1 + 2 + … + 2048 s (12 retries) = 4095 s, then 23 retries of 1 h.
  t.equal(horizon, 4_095_000 + 23 * HOUR, 'exact default horizon')
  t.ok(horizon >= 20 * HOUR && horizon <= 30 * HOUR, `defaults reach about 24 h (${(horizon / HOUR).toFixed(2)} h)`)
  t.ok(horizon > 85 * 60_000, 'longer than Zoom\'s own 85 min of retries')
  t.equal(retryHorizonMs({ ...SMALL, attempts: 1 }), 0, 'one attempt: no retries')
  t.equal(retryHorizonMs({ ...SMALL, attempts: 2 }), 100)
  t.equal(retryHorizonMs({ attempts: 4, baseDelayMs: 1000, maxDelayMs: 1500, retryAfterMaxMs: 0 }), 1000 + 1500 + 1500, 'capped delays')
  let sum = 0
  for (let made = 1; made < SMALL.attempts; made++) sum += backoffDelay(made, SMALL, () => 0.5)
  t.equal(retryHorizonMs(SMALL), sum, 'equals the sum of the un-jittered delays between the attempts')
})

t.test('parseRetryAfter: delay-seconds', async t => {
  t.equal(parseRetryAfter('120', HOUR), 120_000)
  t.equal(parseRetryAfter('0', HOUR), 0)
  t.equal(parseRetryAfter(' 7 ', HOUR), 7000, 'surrounding whitespace')
  t.equal(parseRetryAfter('007', HOUR), 7000, 'leading zeros')
  t.equal(parseRetryAfter('3600', HOUR), HOUR, 'exactly the bound')
  t.equal(parseRetryAfter('3601', HOUR), HOUR, 'bounded above')
  t.equal(parseRetryAfter('9'.repeat(400), HOUR), HOUR, 'absurdly large')
  t.equal(parseRetryAfter('5', 0), 0, 'a bound of 0')
  t.equal(parseRetryAfter('5', 2500), 2500, 'bound not a whole second')
})

t.test('parseRetryAfter: HTTP-date, relative to the given now', async t => {
  const now = Date.UTC(2015, 9, 21, 7, 28, 0)
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:29:00 GMT', HOUR, now), 60_000, 'IMF-fixdate')
  t.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', HOUR, now), 60_000, 'obsolete RFC 850 date')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', HOUR, now), 0, 'now')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', HOUR, now), 0, 'in the past: no wait')
  t.equal(parseRetryAfter('Thu, 22 Oct 2015 07:28:00 GMT', HOUR, now), HOUR, 'a day ahead: bounded')
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:29:00 GMT', 30_000, now), 30_000, 'bounded by maxMs')
  const realNow = parseRetryAfter(new Date(Date.now() + 600_000).toUTCString(), HOUR)
  t.ok(realNow !== undefined && realNow > 590_000 && realNow <= 600_000, `defaults to the real clock (${String(realNow)})`)
})

t.test('parseRetryAfter: asctime dates are GMT (RFC 9110 §5.6.7)', async t => {
  const saved = process.env.TZ
  process.env.TZ = 'America/New_York'
  t.teardown(() => { if (saved === undefined) delete process.env.TZ; else process.env.TZ = saved })
  const now = Date.UTC(2015, 9, 21, 7, 28, 0)
  t.equal(parseRetryAfter('Wed Oct 21 07:29:00 2015', HOUR, now), 60_000, 'asctime in a non-UTC zone')
  t.equal(parseRetryAfter('Wed Oct  1 07:29:00 2015', HOUR, Date.UTC(2015, 9, 1, 7, 28, 0)), 60_000, 'asctime with a space-padded day')
})

t.test('parseRetryAfter: absent or unparseable values are undefined', async t => {
  const now = Date.UTC(2015, 9, 21, 7, 28, 0)
  for (const value of [undefined, '', '   ', 'soon', '5s', '1 hour', 'Infinity', 'NaN', '0x10', '12abc', 'Wed, 32 Oct 2015 07:29:00 GMT']) {
    t.equal(parseRetryAfter(value, HOUR, now), undefined, JSON.stringify(value))
  }
  // Not delay-seconds (1*DIGIT) and not an HTTP-date; V8's lenient Date.parse reads them as dates in 2001.
  for (const value of ['-5', '-1', '1.5', '+5', '1 2', '2015-10-21T07:29:00Z', 'Wed, 21 Oct 2015 07:29:00 PST',
    'Wed, 31 Feb 2015 07:29:00 GMT', 'Wed, 21 Oct 2015 24:00:00 GMT', 'Wed, 21 Oct 2015 07:60:00 GMT']) {
    t.equal(parseRetryAfter(value, HOUR, now), undefined, `${JSON.stringify(value)} is not a valid Retry-After`)
  }
})
