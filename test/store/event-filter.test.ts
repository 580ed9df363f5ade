import t from 'tap'
import { acceptsEvent, EVENT_PATTERN } from '../../src/store/event-filter.js'

t.test('no filter takes every event', async t => {
  t.ok(acceptsEvent(undefined, 'meeting.created'))
  t.ok(acceptsEvent({}, 'anything.at_all'))
})

t.test('include: exact names and prefixes', async t => {
  const filter = { include: ['meeting.*', 'user.updated'] }
  t.ok(acceptsEvent(filter, 'meeting.created'))
  t.ok(acceptsEvent(filter, 'meeting.participant_joined'))
  t.ok(acceptsEvent(filter, 'user.updated'))
  t.notOk(acceptsEvent(filter, 'user.created'))
  t.notOk(acceptsEvent(filter, 'meetings.created'), 'a prefix matches at the dot, not inside a word')
  t.notOk(acceptsEvent(filter, 'recording.completed'))
})

t.test('exclude wins over include', async t => {
  const filter = { include: ['meeting.*'], exclude: ['meeting.deleted'] }
  t.ok(acceptsEvent(filter, 'meeting.started'))
  t.notOk(acceptsEvent(filter, 'meeting.deleted'))
  t.notOk(acceptsEvent({ exclude: ['*'] }, 'meeting.created'), '* excludes everything')
  t.ok(acceptsEvent({ exclude: ['recording.*'] }, 'meeting.created'))
})

t.test('patterns the config accepts', async t => {
  for (const ok of ['meeting.created', 'meeting.*', '*', 'app_deauthorized', 'phone.callee_call_log_completed']) t.ok(EVENT_PATTERN.test(ok), ok)
  for (const bad of ['', 'Meeting.Created', 'meeting.', '*.created', 'meeting.*.x', 'meet*', 'a b']) t.notOk(EVENT_PATTERN.test(bad), JSON.stringify(bad))
})
