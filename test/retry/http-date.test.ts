import t from 'tap'
import { parseHttpDate } from '../../src/retry/http-date.js'

const EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37)

t.test('the three forms of RFC 9110 §5.6.7 name the same instant', async t => {
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), EXAMPLE, 'IMF-fixdate')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1)), EXAMPLE, 'RFC 850')
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), EXAMPLE, 'asctime')
})

t.test('RFC 850 two-digit years: never more than 50 years ahead', async t => {
  const now = Date.UTC(2026, 10, 25)
  t.equal(new Date(parseHttpDate('Monday, 01-Jan-76 00:00:00 GMT', now) ?? 0).getUTCFullYear(), 2076, '50 years ahead stays')
  t.equal(new Date(parseHttpDate('Monday, 01-Jan-77 00:00:00 GMT', now) ?? 0).getUTCFullYear(), 1977, '51 years ahead goes back a century')
  t.equal(new Date(parseHttpDate('Monday, 01-Jan-26 00:00:00 GMT', now) ?? 0).getUTCFullYear(), 2026)
})

t.test('a leap second folds into the next minute', async t => {
  t.equal(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT'), Date.UTC(2017, 0, 1))
})

t.test('anything else is refused', async t => {
  for (const value of ['', '0', '-5', '1.5', 'Sun, 6 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC',
    'sun, 06 nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT ', '1994-11-06T08:49:37Z',
    'Sun, 29 Feb 2015 00:00:00 GMT', 'Sun, 00 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:00:00 GMT',
    'Sun Nov 6 08:49:37 1994', 'Sunday, 06-Nov-1994 08:49:37 GMT']) {
    t.equal(parseHttpDate(value), undefined, JSON.stringify(value))
  }
  t.equal(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT'), Date.UTC(2024, 1, 29), 'a real 29 February')
})
