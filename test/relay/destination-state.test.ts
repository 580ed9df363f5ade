import t from 'tap'
import { effectiveState, parseDestinationState, pausedOverlapMs } from '../../src/relay/destination-state.js'

t.test('the shared hash parsed: a pause wins over the circuit; unknown values read as closed', async t => {
  t.equal(effectiveState(parseDestinationState({})), 'closed')
  t.equal(effectiveState(parseDestinationState({ circuit: 'open', failures: '12' })), 'open')
  t.equal(effectiveState(parseDestinationState({ circuit: 'half_open' })), 'half_open')
  t.equal(effectiveState(parseDestinationState({ circuit: 'open', paused: '1' })), 'paused')
  t.equal(effectiveState(parseDestinationState({ circuit: 'weird' })), 'closed')
  t.equal(parseDestinationState({ failures: '3' }).failures, 3)
})

t.test('time paused is taken off an event\'s age only where the pause overlaps its life', async t => {
  const paused = parseDestinationState({ paused: '1', pausedAt: '1000' })
  t.equal(pausedOverlapMs(paused, 500, 5000), 4000, 'still paused: from the pause until now')
  t.equal(pausedOverlapMs(paused, 2000, 5000), 3000, 'received during the pause: from then on')
  const resumed = parseDestinationState({ pausedAt: '1000', resumedAt: '3000' })
  t.equal(pausedOverlapMs(resumed, 500, 5000), 2000, 'the whole pause')
  t.equal(pausedOverlapMs(resumed, 4000, 5000), 0, 'received after the resume')
  t.equal(pausedOverlapMs(parseDestinationState({}), 0, 5000), 0, 'never paused')
})
