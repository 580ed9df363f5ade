import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { OutageLog } from '../../src/redis/outage-log.js'

t.test('an outage is logged when it starts, at most once a minute while it lasts, and when it ends', async t => {
  const lines: Array<{ level: number, msg: string, downForMs?: number, failuresSinceLastLine?: number }> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as typeof lines[number]); done() } })
  let now = 1_000_000
  const outage = new OutageLog({ logger: createLogger('info', sink), labels: { use: 'worker' }, lost: 'lost', restored: 'back', now: () => now })
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
  // Five minutes of reconnect attempts every 2 s.
  for (let i = 0; i < 150; i++) { outage.failed(refused); now += 2000 }
  t.equal(outage.down, true)
  outage.recovered()
  outage.recovered()
  t.same(lines.map(l => l.msg), ['lost', 'lost (still)', 'lost (still)', 'lost (still)', 'lost (still)', 'back'], 'start, one reminder a minute, end')
  t.match(lines[1], { level: 50, downForMs: 60_000, failuresSinceLastLine: 30 })
  t.match(lines[5], { level: 30, downForMs: 300_000 })
  outage.failed()
  t.match(lines.at(-1), { msg: 'lost', message: 'connection closed' }, 'a new outage is logged at once')
})
