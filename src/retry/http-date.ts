/**
 * Strict HTTP-date parsing (RFC 9110 §5.6.7). `Date.parse` is too lenient for
 * headers: V8 reads "-5" or "1.5" as dates in 2001 and an asctime date (which
 * has no zone) as local time, so a malformed `Retry-After` would turn into an
 * immediate retry, or into a wrong wait outside UTC.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const DAY_NAME = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = `(${MONTHS.join('|')})`
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'

/** `Sun, 06 Nov 1994 08:49:37 GMT`, the preferred form. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT`, obsolete. */
const RFC_850 = new RegExp(`^${DAY_NAME}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
/** `Sun Nov  6 08:49:37 1994`, obsolete; always GMT. */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

/**
 * Milliseconds since the epoch for an HTTP-date in any of its three forms, or
 * undefined when `value` is not one (or names a day that does not exist).
 */
export function parseHttpDate (value: string, nowMs: number = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(value)
  if (m !== null) return utc(Number(m[3]), m[2], m[1], m[4], m[5], m[6])
  m = RFC_850.exec(value)
  if (m !== null) return utc(fullYear(Number(m[3]), nowMs), m[2], m[1], m[4], m[5], m[6])
  m = ASCTIME.exec(value)
  if (m !== null) return utc(Number(m[6]), m[1], m[2], m[3], m[4], m[5])
  return undefined
}

/**
 * RFC 9110: a two-digit year that would be more than 50 years in the future
 * is the most recent past year with the same last two digits.
 */
function fullYear (twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear()
  let year = thisYear - (thisYear % 100) + twoDigits
  if (year > thisYear + 50) year -= 100
  return year
}

/** The regular expressions above guarantee every group is present and numeric (a day may be space-padded). */
function utc (y: number, month = '', day = '', hours = '', minutes = '', seconds = ''): number | undefined {
  const m = MONTHS.indexOf(month)
  const d = Number(day)
  const h = Number(hours)
  const min = Number(minutes)
  const s = Number(seconds)
  // A leap second (60) is allowed by the grammar; Date has none, so it folds into the next minute.
  if (h > 23 || min > 59 || s > 60 || d < 1) return undefined
  const ms = Date.UTC(y, m, d, h, min, s)
  // Date.UTC rolls 31 Feb over into March: refuse days the month does not have.
  if (new Date(Date.UTC(y, m, d)).getUTCDate() !== d) return undefined
  return ms
}
