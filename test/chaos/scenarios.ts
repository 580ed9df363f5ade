import { setTimeout as sleep } from 'node:timers/promises'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { metricValue, openQueue } from '../helpers/queue.js'
import { seededRandom } from '../helpers/random.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { startRelayProcess, type RelayProcess } from '../helpers/relay-process.js'
import { SECRET } from '../helpers/relay.js'
import { CountingSink, type Reply } from './counting-sink.js'
import { percentile, ZoomSender } from './zoom-sender.js'

/**
 * Fault scenarios against real processes on loopback: a redis-server with its
 * AOF, `zoom-relay web` and `zoom-relay worker` child processes, a counting
 * destination and a Zoom stand-in that re-sends what got no 2xx. Each ends
 * with one line of figures; `lost` counts events that got a 2xx and never
 * reached the destination.
 */

export interface ScenarioResult {
  scenario: string
  acked: number
  delivered: number
  lost: number
  duplicates: number
  /** Events "Zoom" gave up re-sending at its deadline: the relay never accepted them. */
  abandoned: number
  /** Stream entries the relay gave up as dead letters (reason `abandoned`: they kept killing their workers). */
  abandoned_entries: number
  /** Faults after which a fresh event was accepted (2xx) again, of `faults`. */
  accepted_after_faults: number
  faults: number
  p99_ack_ms: number
  /** Scenario-specific figures (kills, p99 of 503 answers, …). */
  extra: Record<string, number | string | boolean>
}

export interface ScenarioOptions {
  /** Events sent per scenario. */
  events: number
  /** Over how long they are spread, so that the faults land mid-traffic. */
  durationMs: number
  /** Faults injected (kills, flaps) where the scenario repeats them. */
  faults: number
  /** Longest wait for the destination to get everything once the faults stop. */
  drainMs: number
}

/** Short timeouts and retries so a scenario settles in seconds; the defaults are for production. */
const RELAY_ENV: Record<string, string> = {
  DELIVERY_TIMEOUT_MS: '1000',
  PROVIDER_API_TIMEOUT_MS: '1000',
  RETRY_BASE_DELAY_MS: '100',
  RETRY_MAX_DELAY_MS: '1000',
  RETRY_ATTEMPTS: '500',
  RETRY_AFTER_MAX_MS: '2000',
  ENQUEUE_TIMEOUT_MS: '1000',
  SHUTDOWN_TIMEOUT_MS: '2000',
  DELIVERY_CONCURRENCY: '32',
  // An open circuit probes at most every 2 s, so a recovered destination gets its backlog within the drain time.
  CIRCUIT_BREAKER_MAX_PROBE_INTERVAL_MS: '2000'
}

export function formatResult (r: ScenarioResult): string {
  const extra = Object.entries(r.extra).map(([k, v]) => ` ${k}=${String(v)}`).join('')
  return `scenario=${r.scenario} acked=${r.acked} delivered=${r.delivered} lost=${r.lost} duplicates=${r.duplicates} abandoned=${r.abandoned} abandoned_entries=${r.abandoned_entries} accepted_after_faults=${r.accepted_after_faults}/${r.faults} p99_ack_ms=${r.p99_ack_ms.toFixed(1)}${extra}`
}

/** How long a fresh event may take to be accepted after a fault (a process restart included). */
const ACCEPT_AFTER_FAULT_MS = 60_000

class Rig {
  readonly webs: RelayProcess[] = []
  readonly workers: RelayProcess[] = []
  private readonly cleanups: Array<() => Promise<void>> = []
  /** One fresh event after each fault, to the env-configured app: the relay must accept it (and deliver it). */
  readonly probes = new ZoomSender(SECRET, () => this.alive(this.webs).map(webhook))
  private faults = 0
  private acceptedAfterFaults = 0

  constructor (readonly redis: TestRedis, readonly sink: CountingSink, readonly env: Record<string, string>) {
    this.cleanups.push(async () => { await this.probes.close() })
  }

  /** Counts a fault, then checks the relay accepts a fresh event again (retried like Zoom would, bounded). */
  async acceptsAfterFault (): Promise<void> {
    const before = this.probes.stats.acked.size
    this.faults++
    await this.probes.send(1, { concurrency: 1, first: 2_000_000 + this.faults, deadline: Date.now() + ACCEPT_AFTER_FAULT_MS })
    if (this.probes.stats.acked.size > before) this.acceptedAfterFaults++
  }

  /** Dead letters of `queues` the relay gave up as abandoned (read from Redis, so killed processes count too). */
  async abandonedEntries (queues: string[] = ['{default.recall}']): Promise<number> {
    let count = 0
    for (const name of queues) {
      const { queue, close } = openQueue(this.redis.url, name)
      try {
        count += (await queue.getFailed()).filter(job => /Taken over \d+ times/.test(job.failedReason ?? '')).length
      } finally {
        await close()
      }
    }
    return count
  }

  static async start (opts: { behaviour?: (hash: string, n: number) => Reply, aof?: boolean, env?: Record<string, string> } = {}): Promise<Rig> {
    const redis = await startTestRedis({ aof: opts.aof ?? true })
    const sink = new CountingSink(opts.behaviour)
    await sink.start()
    return new Rig(redis, sink, { ...RELAY_ENV, ...opts.env })
  }

  async process (role: 'web' | 'worker'): Promise<RelayProcess> {
    const started = await startRelayProcess(role, { redisUrl: this.redis.url, recallBaseUrl: this.sink.url, env: this.env })
    ;(role === 'web' ? this.webs : this.workers).push(started)
    return started
  }

  alive (list: RelayProcess[]): RelayProcess[] {
    return list.filter(p => p.child.exitCode === null && p.child.signalCode === null)
  }

  /** SIGKILLs a process of `role` (the `pick`-th alive) `o.faults` times during the traffic, replacing it each time. */
  async killRepeatedly (role: 'web' | 'worker', o: ScenarioOptions, pick: (kills: number) => number): Promise<number> {
    let kills = 0
    while (kills < o.faults) {
      await sleep(o.durationMs / (o.faults + 1))
      const victim = this.alive(role === 'web' ? this.webs : this.workers)[pick(kills)]
      if (victim === undefined) continue
      await victim.kill('SIGKILL')
      kills++
      await this.process(role)
      await this.acceptsAfterFault()
    }
    return kills
  }

  /** Waits until every acked body (the probes' too) reached the destination (or `timeoutMs` passed). */
  async drain (acked: Set<string>, timeoutMs: number): Promise<void> {
    const all = [...acked, ...this.probes.stats.acked]
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && all.some(h => (this.sink.delivered.get(h) ?? 0) === 0)) await sleep(100)
  }

  async result (scenario: string, sender: ZoomSender, extra: ScenarioResult['extra'] = {}, sent: Set<string> = sender.stats.acked, queues?: string[]): Promise<ScenarioResult> {
    const acked = new Set([...sent, ...this.probes.stats.acked])
    let delivered = 0
    let duplicates = 0
    for (const hash of acked) {
      const n = this.sink.delivered.get(hash) ?? 0
      if (n > 0) delivered++
      duplicates += Math.max(0, n - 1)
    }
    return {
      scenario,
      acked: acked.size,
      delivered,
      lost: acked.size - delivered,
      duplicates,
      abandoned: sender.stats.abandoned + this.probes.stats.abandoned,
      abandoned_entries: await this.abandonedEntries(queues),
      accepted_after_faults: this.acceptedAfterFaults,
      faults: this.faults,
      p99_ack_ms: percentile(sender.stats.ackMs, 99),
      extra
    }
  }

  onClose (fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  async close (): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn().catch(() => {})
    await Promise.all([...this.webs, ...this.workers].map(async p => await p.kill('SIGKILL')))
    await this.sink.close()
    await this.redis.stop()
  }
}

async function withRig<T> (rig: Rig, run: (rig: Rig) => Promise<T>): Promise<T> {
  try {
    return await run(rig)
  } finally {
    await rig.close()
  }
}

const webhook = (p: RelayProcess): string => `${p.url}/zoom/webhook`

/** 1. Workers SIGKILLed again and again mid-delivery: stalled jobs are taken up again. */
export async function workerKill (o: ScenarioOptions): Promise<ScenarioResult> {
  return await withRig(await Rig.start({ behaviour: () => ({ status: 200, delayMs: 20 }) }), async rig => {
    await rig.process('web')
    await Promise.all([rig.process('worker'), rig.process('worker')])
    const sender = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await sender.close() })
    const sending = sender.send(o.events, { concurrency: 16, durationMs: o.durationMs })
    const kills = await rig.killRepeatedly('worker', o, kills => kills % 2)
    await sending
    await rig.drain(sender.stats.acked, o.drainMs)
    return await rig.result('worker-kill', sender, { kills })
  })
}

/** 2. A web process SIGKILLed mid-traffic: what got no 2xx is re-sent by "Zoom" to the other one. */
export async function webKill (o: ScenarioOptions): Promise<ScenarioResult> {
  return await withRig(await Rig.start(), async rig => {
    await Promise.all([rig.process('web'), rig.process('web'), rig.process('worker')])
    const sender = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await sender.close() })
    const sending = sender.send(o.events, { concurrency: 16, durationMs: o.durationMs })
    const kills = await rig.killRepeatedly('web', o, () => 0)
    await sending
    await rig.drain(sender.stats.acked, o.drainMs)
    return await rig.result('web-kill', sender, { kills, resent: [...sender.stats.refused.values()].reduce((a, b) => a + b, 0) })
  })
}

/** 3. Redis SIGKILLed and restarted from its AOF mid-traffic. */
export async function redisCrash (o: ScenarioOptions): Promise<ScenarioResult> {
  return await withRig(await Rig.start({ aof: true }), async rig => {
    const web = await rig.process('web')
    await rig.process('worker')
    const sender = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await sender.close() })
    const sending = sender.send(o.events, { concurrency: 16, durationMs: o.durationMs })
    let readyzRed = true
    for (let crash = 0; crash < o.faults; crash++) {
      await sleep(Math.max(200, o.durationMs / o.faults - 1500))
      await rig.redis.kill('SIGKILL')
      await sleep(300)
      const ready = await fetch(`${web.metricsUrl}/readyz`)
      readyzRed &&= ready.status === 503
      await sleep(1200)
      await rig.redis.start()
      await rig.acceptsAfterFault()
    }
    await sending
    await rig.drain(sender.stats.acked, o.drainMs)
    return await rig.result('redis-crash', sender, {
      crashes: o.faults,
      refused_503: sender.stats.refusedMs.length,
      p99_503_ms: Number(percentile(sender.stats.refusedMs, 99).toFixed(1)),
      readyz_red_while_down: readyzRed
    })
  })
}

/** 4. Redis wiped (FLUSHALL) mid-traffic: reported, and the relay keeps working for new events. */
export async function redisWipe (o: ScenarioOptions): Promise<ScenarioResult> {
  let destinationUp = false
  return await withRig(await Rig.start({ behaviour: () => destinationUp ? { status: 200 } : { status: 503 } }), async rig => {
    const web = await rig.process('web')
    const worker = await rig.process('worker')
    const before = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    const after = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await before.close(); await after.close() })
    // Events stored while the destination is down, then wiped out of Redis.
    await before.send(Math.ceil(o.events / 2), { concurrency: 16 })
    await rig.redis.client().flushall()
    await rig.acceptsAfterFault()
    const sending = after.send(Math.floor(o.events / 2), { concurrency: 16, first: 1_000_000, durationMs: o.durationMs / 2 })
    let reported = 0
    for (let i = 0; i < 100 && reported < 2; i++) {
      await sleep(100)
      await fetch(`${web.metricsUrl}/readyz`)
      await fetch(`${worker.metricsUrl}/readyz`)
      reported = (await metricValue(web.metricsUrl, 'zoom_relay_redis_data_losses_total') ?? 0) + (await metricValue(worker.metricsUrl, 'zoom_relay_redis_data_losses_total') ?? 0)
    }
    const warning = await (await fetch(`${web.metricsUrl}/readyz`)).json() as { ready: boolean, warnings?: Record<string, string> }
    destinationUp = true
    await sending
    await rig.drain(after.stats.acked, o.drainMs)
    const errorLines = [web, worker].map(p => p.output().split('\n').filter(l => l.includes('"level":50')).length).reduce((a, b) => a + b, 0)
    // Only events acked after the wipe can be promised; the ones before it are what the wipe destroyed.
    const wiped = [...before.stats.acked].filter(h => (rig.sink.delivered.get(h) ?? 0) === 0).length
    return await rig.result('redis-wipe', after, { wiped_before: wiped, loss_reported_by: reported, ready_after_wipe: warning.ready, readyz_warning: warning.warnings?.redisData !== undefined, error_log_lines: errorLines })
  })
}

/** 5. A flapping destination: 500s, 429 with Retry-After, answers slower than the timeout, resets, and a window completely down. */
export async function destinationFlapping (o: ScenarioOptions): Promise<ScenarioResult> {
  const random = seededRandom(5)
  let downUntil = 0
  const behaviour = (): Reply => {
    if (Date.now() < downUntil) return { status: 503 }
    const roll = random()
    if (roll < 0.15) return { status: 500 }
    if (roll < 0.25) return { status: 429, retryAfter: '1' }
    if (roll < 0.30) return { status: 200, delayMs: 2500 } // past DELIVERY_TIMEOUT_MS: the relay gives up first
    if (roll < 0.35) return { reset: true }
    return { status: 200 }
  }
  return await withRig(await Rig.start({ behaviour }), async rig => {
    await Promise.all([rig.process('web'), rig.process('worker')])
    const sender = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await sender.close() })
    const sending = sender.send(o.events, { concurrency: 16, durationMs: o.durationMs })
    for (let flap = 0; flap < o.faults; flap++) {
      await sleep(Math.max(200, o.durationMs / o.faults - 2000))
      downUntil = Date.now() + 2000
      await sleep(2000)
      await rig.acceptsAfterFault()
    }
    await sending
    await rig.drain(sender.stats.acked, o.drainMs)
    return await rig.result('destination-flapping', sender, { down_windows: o.faults, destination_requests: rig.sink.requests })
  })
}

/** 6. A slow destination holds up neither the other destination of its app nor another app, and is never sent a job still in flight. */
export async function slowDestination (o: ScenarioOptions): Promise<ScenarioResult> {
  const fast = new CountingSink()
  const other = new CountingSink()
  await fast.start()
  await other.start()
  const dir = mkdtempSync(join(tmpdir(), 'zr-chaos-'))
  const file = join(dir, 'apps.yaml')
  const rig = await Rig.start({ behaviour: () => ({ status: 200, delayMs: 500 }), env: { CONFIG_FILE: file, DELIVERY_CONCURRENCY: '16' } })
  writeFileSync(file, `apps:
  - name: a
    secretToken: ${SECRET}
    destinations:
      - { type: http, name: slow, url: "${rig.sink.url}/slow" }
      - { type: http, name: fast, url: "${fast.url}/fast" }
  - name: b
    secretToken: ${SECRET}
    destinations:
      - { type: http, name: fast, url: "${other.url}/other" }
`)
  rig.onClose(async () => { await fast.close(); await other.close(); rmSync(dir, { recursive: true, force: true }) })
  return await withRig(rig, async rig => {
    await Promise.all([rig.process('web'), rig.process('worker')])
    const toA = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(p => `${p.url}/zoom/webhook/a`))
    const toB = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(p => `${p.url}/zoom/webhook/b`))
    rig.onClose(async () => { await toA.close(); await toB.close() })
    await Promise.all([toA.send(o.events, { concurrency: 8, durationMs: o.durationMs }), toB.send(o.events, { concurrency: 8, first: 1_000_000, durationMs: o.durationMs })])
    // The slow destination takes 500 ms per delivery, 16 at a time: it is far behind when the others are done.
    const othersDone = async (): Promise<boolean> => [...toA.stats.acked].every(h => fast.delivered.has(h)) && [...toB.stats.acked].every(h => other.delivered.has(h))
    const deadline = Date.now() + o.drainMs
    while (!await othersDone() && Date.now() < deadline) await sleep(50)
    const slowDoneWhenOthersWere = [...toA.stats.acked].filter(h => rig.sink.delivered.has(h)).length
    await rig.drain(toA.stats.acked, o.drainMs)
    const fastDuplicates = [...fast.delivered.values(), ...other.delivered.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0)
    return await rig.result('slow-destination', toA, {
      others_done: await othersDone(),
      slow_delivered_when_others_done: slowDoneWhenOthersWere,
      resent_in_flight: rig.sink.resentInFlight,
      other_duplicates: fastDuplicates
    }, toA.stats.acked, ['{a.slow}', '{a.fast}', '{b.fast}'])
  })
}

/** A process that has not ended this long after SIGTERM is hung (SHUTDOWN_TIMEOUT_MS is 2 s here). */
const STOP_CAP_MS = 30_000

/**
 * 7. SIGTERM to every relay process while Redis is down (a deploy or a node
 * drain during an outage): each process ends within its deadline whatever
 * Redis does; once Redis is back from its AOF and the relay restarted,
 * nothing acked is lost.
 */
export async function sigtermDuringRedisOutage (o: ScenarioOptions): Promise<ScenarioResult> {
  return await withRig(await Rig.start({ aof: true }), async rig => {
    await Promise.all([rig.process('web'), rig.process('worker')])
    const sender = new ZoomSender(SECRET, () => rig.alive(rig.webs).map(webhook))
    rig.onClose(async () => { await sender.close() })
    const sending = sender.send(o.events, { concurrency: 16, durationMs: o.durationMs })
    let stopped = 0
    let stopMsMax = 0
    let stops = 0
    for (let fault = 0; fault < o.faults; fault++) {
      await sleep(o.durationMs / (o.faults + 1))
      await rig.redis.kill('SIGKILL')
      await sleep(500)
      const running = rig.alive([...rig.webs, ...rig.workers])
      stops += running.length
      await Promise.all(running.map(async p => {
        const started = Date.now()
        p.child.kill('SIGTERM')
        const ended = await Promise.race([p.exited.then(() => true), sleep(STOP_CAP_MS, false)])
        if (ended) { stopped++; stopMsMax = Math.max(stopMsMax, Date.now() - started) } else await p.kill('SIGKILL')
      }))
      await rig.redis.start()
      await Promise.all([rig.process('web'), rig.process('worker')])
      await rig.acceptsAfterFault()
    }
    await sending
    await rig.drain(sender.stats.acked, o.drainMs)
    return await rig.result('sigterm-during-redis-outage', sender, { stops, stopped_in_time: stopped, stop_ms_max: stopMsMax })
  })
}

export const SCENARIOS = [workerKill, webKill, redisCrash, redisWipe, destinationFlapping, slowDestination, sigtermDuringRedisOutage]
