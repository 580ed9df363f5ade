import t from 'tap'
import { formatTraceparent, isTraceparent, parseTraceparent, TRACEPARENT_LENGTH } from '../../src/tracing/traceparent.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

t.test('well-formed traceparents are read', async t => {
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, flags: 1 }, 'the W3C example, sampled')
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, spanId: SPAN, flags: 0 }, 'not sampled')
  t.same(parseTraceparent(`01-${TRACE}-${SPAN}-03`), { traceId: TRACE, spanId: SPAN, flags: 3 }, 'a later version in the 55-character form')
  t.equal(`00-${TRACE}-${SPAN}-01`.length, TRACEPARENT_LENGTH)
})

t.test('anything else is refused, so nothing malformed is stored or followed', async t => {
  const refused: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['a number', 42],
    ['empty', ''],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['extra field (longer than 55)', `01-${TRACE}-${SPAN}-01-extra`],
    ['surrounding space', ` 00-${TRACE}-${SPAN}-01`],
    ['newline', `00-${TRACE}-${SPAN}-0\n`],
    ['a header injection attempt', `00-${TRACE}-${SPAN}-01\r\nx: y`],
    ['non-hex', `00-${TRACE.replace('4', 'g')}-${SPAN}-01`],
    ['very long', 'a'.repeat(10_000)]
  ]
  for (const [what, value] of refused) {
    t.notOk(isTraceparent(value), what)
    if (typeof value === 'string' || value === undefined) t.equal(parseTraceparent(value as string | undefined), undefined, `${what}: nothing parsed`)
  }
})

t.test('format writes version 00 and round-trips', async t => {
  const value = formatTraceparent({ traceId: TRACE, spanId: SPAN, flags: 1 })
  t.equal(value, `00-${TRACE}-${SPAN}-01`)
  t.same(parseTraceparent(value), { traceId: TRACE, spanId: SPAN, flags: 1 })
  t.equal(formatTraceparent({ traceId: TRACE, spanId: SPAN, flags: 0 }).slice(-3), '-00')
})
