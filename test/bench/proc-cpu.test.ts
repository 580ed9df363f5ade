import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { hash } from 'node:crypto'
import t from 'tap'
import { cpuMicros, mainThreadCpuMicros, redisPid, schedstat, withRunCpu } from '../../bench/proc-cpu.js'
import { startTestRedis } from '../helpers/redis-server.js'

/** Work that takes CPU whatever the machine's speed: a fixed number of hashes. */
function burn (rounds: number): void {
  let digest = 'seed'
  for (let i = 0; i < rounds; i++) digest = hash('sha256', digest)
}

t.test('a run\'s CPU per request: the server\'s, its Redis\' and the load generator\'s (a child that ended)', async t => {
  const redis = await startTestRedis()
  t.teardown(async () => { await redis.stop() })
  const pid = await redisPid(redis.client())
  t.ok(pid > 0 && pid !== process.pid, 'the Redis server\'s own pid, from INFO')
  t.ok(cpuMicros(pid) >= 0)

  const { report, cpu } = await withRunCpu({ server: process.pid, redis: pid }, async () => {
    // The "load generator": a child process that works and ends, as each wrk run does.
    const child = spawn(process.execPath, ['-e', "let d = 'x'; for (let i = 0; i < 300000; i++) d = require('node:crypto').hash('sha256', d)"], { stdio: 'ignore' })
    await once(child, 'exit')
    burn(300_000)
    for (let i = 0; i < 200; i++) await redis.client().ping()
    return { requests: 4 }
  })
  t.equal(report.requests, 4)
  t.ok(cpu.wrk > 0, `the ended child's CPU is counted (${cpu.wrk} µs per request)`)
  t.ok(cpu.server > 0, `this process' CPU is counted as the server's (${cpu.server} µs per request)`)
  t.ok(cpu.redis >= 0)

  const none = await withRunCpu({ server: process.pid }, async () => ({ requests: 0 }))
  t.equal(none.cpu.redis, 0, 'no Redis, no Redis CPU')
  t.ok(Number.isFinite(none.cpu.server), 'no request answered: divided by one, not zero')
})

t.test('the main thread alone, and its run and wait times', async t => {
  const before = { main: mainThreadCpuMicros(process.pid), sched: schedstat(process.pid) }
  burn(200_000)
  t.ok(mainThreadCpuMicros(process.pid) >= before.main)
  const after = schedstat(process.pid)
  t.ok(after.ranNs > before.sched.ranNs, 'the thread ran')
  t.ok(after.waitedNs >= before.sched.waitedNs)
})
