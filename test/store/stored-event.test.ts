import t from 'tap'
import { BODY_FIELD, META_FIELD, readStoredEvent, storedMeta, type StoredEvent } from '../../src/store/stored-event.js'
import { toRelayJobData } from '../../src/retry/relay-job.js'

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const event: StoredEvent = {
  body: Buffer.from('{"event":"meeting.created"}'),
  headers: { 'x-zm-request-timestamp': '1700000000', traceparent: '00-11111111111111111111111111111111-2222222222222222-00' },
  signatureSha256: 'c2lnbmF0dXJl',
  event: 'meeting.created'
}

/** An entry as the ingest script writes it, read back. */
const entryOf = (meta: string): ReturnType<typeof readStoredEvent> =>
  readStoredEvent({ id: '1700000000000-0', fields: new Map([[BODY_FIELD, event.body], [META_FIELD, Buffer.from(meta)]]) })

t.test('without trace context (tracing off), the metadata is what it always was', async t => {
  const meta = storedMeta(event)
  t.same(Object.keys(JSON.parse(meta) as object), ['h', 's', 'e'], 'no t key')
  const read = entryOf(meta)
  t.equal(read.traceparent, undefined)
  t.notOk('traceparent' in read, 'no traceparent property at all')
  t.notOk('traceparent' in toRelayJobData(read, '1700000000000-0'), 'nor in a retry job')
})

t.test('the relay\'s trace context is stored as t, and carried on to retry jobs', async t => {
  const meta = storedMeta({ ...event, traceparent: TRACEPARENT })
  t.equal((JSON.parse(meta) as { t?: string }).t, TRACEPARENT)
  const read = entryOf(meta)
  t.equal(read.traceparent, TRACEPARENT)
  t.equal(read.headers.traceparent, event.headers.traceparent, 'Zoom\'s own traceparent stays among the headers')
  const job = JSON.parse(JSON.stringify(toRelayJobData(read, '1700000000000-0'))) as { traceparent?: string }
  t.equal(job.traceparent, TRACEPARENT, 'retry job keeps it through JSON')
})

t.test('a malformed trace context is never stored, and ignored when read', async t => {
  for (const bad of ['', 'x', `${TRACEPARENT}-extra`, TRACEPARENT.toUpperCase(), 'a'.repeat(1000)]) {
    t.notOk('t' in (JSON.parse(storedMeta({ ...event, traceparent: bad })) as object), `not stored: ${bad.slice(0, 20)}`)
    const read = entryOf(JSON.stringify({ h: event.headers, s: event.signatureSha256, e: event.event, t: bad }))
    t.equal(read.traceparent, undefined, `ignored when read: ${bad.slice(0, 20)}`)
    t.equal(read.event, 'meeting.created', 'the event itself is read all the same')
  }
  t.equal(entryOf(JSON.stringify({ h: {}, s: 's', e: 'e', t: 42 })).traceparent, undefined, 'a non-string is ignored')
})
