import t from 'tap'
import { parseWrkReport } from '../../bench/wrk-report.js'

const line = (over: Record<string, unknown> = {}): string => `WRK_REPORT ${JSON.stringify({
  durationUs: 10_000_000,
  requests: 150_000,
  bytes: 12_345_678,
  errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
  latencyUs: { p50: 1500, p90: 3000, p99: 7250, max: 42_000, mean: 1800.5 },
  wrapped: 0,
  ...over
})}`

// What wrk prints around the script's line.
const wrkOutput = (report: string): string => `Running 10s test @ http://127.0.0.1:4000/zoom/webhook
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.80ms    1.02ms  42.00ms   90.00%
  150000 requests in 10.00s, 11.77MB read
${report}
Requests/sec:  15000.00
Transfer/sec:      1.18MB
`

t.test('reads the report line out of wrk\'s output, in milliseconds and per second', async t => {
  const r = parseWrkReport(wrkOutput(line()))
  t.same(r, { durationS: 10, requests: 150_000, rps: 15_000, non2xx: 0, socketErrors: 0, p50: 1.5, p90: 3, p99: 7.25, max: 42, mean: 1.8005, wrapped: 0 })
})

t.test('status errors are non-2xx; connect, read, write errors and timeouts are socket errors', async t => {
  const r = parseWrkReport(wrkOutput(line({ errors: { connect: 1, read: 2, write: 3, status: 17, timeout: 4 }, wrapped: 2 })))
  t.equal(r.non2xx, 17)
  t.equal(r.socketErrors, 10)
  t.equal(r.wrapped, 2)
})

t.test('a missing, truncated or incomplete report is an error, never zeros', async t => {
  t.throws(() => parseWrkReport('unable to connect to 127.0.0.1:4000 Connection refused\n'), /no WRK_REPORT line/)
  t.throws(() => parseWrkReport(wrkOutput(line().slice(0, 60))), /not JSON/)
  t.throws(() => parseWrkReport(wrkOutput(line({ latencyUs: { p50: 1, p90: 2, p99: 3, mean: 1 } }))), /lacks a field/)
  t.throws(() => parseWrkReport(wrkOutput(line({ requests: -1 }))), /negative or non-numeric/)
  t.throws(() => parseWrkReport(wrkOutput(line({ errors: undefined }))), /lacks a field/)
})

t.test('a zero-length run has a rate of 0', async t => {
  t.equal(parseWrkReport(line({ durationUs: 0, requests: 0 })).rps, 0)
})
