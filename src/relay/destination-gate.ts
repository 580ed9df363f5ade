import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { defineScripts } from '../store/redis-scripts.js'
import { destinationStateKey, probeLockKey, rateWindowKey } from '../store/stream-keys.js'
import type { AttemptResult } from './delivery-attempt.js'
import { destinationSettings, type DestinationSettings } from '../retry/destination-settings.js'
import { effectiveState, parseDestinationState, pausedOverlapMs, type DestinationState, type SharedDestinationState } from './destination-state.js'

/** How often every worker process reads each destination's shared state: a pause or a closing circuit is obeyed within this. */
export const GATE_POLL_MS = 500
/** First probe interval of an open circuit, doubled after each failed probe. */
const FIRST_PROBE_INTERVAL_MS = 1000
/** A lane handed the probe that has sent nothing within this gives it back (nothing waits there). */
const PROBE_HANDOVER_MS = 2000

/** The two ways events reach a destination: first attempts from its stream, retries from its BullMQ queue. */
export type Lane = 'stream' | 'retry'

/** An admitted attempt; `probe`: the one request an open circuit allows. */
export interface Admission { probe: boolean }

/** KEYS: state hash. ARGV: threshold, now, first interval. Counts a failure; opens the circuit at the threshold (returns 1). */
const FAILED = `
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local circuit = redis.call('HGET', KEYS[1], 'circuit')
if (circuit == false or circuit == 'closed') and failures >= tonumber(ARGV[1]) then
  local now = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'circuit', 'open', 'openedAt', now, 'probeIntervalMs', ARGV[3], 'nextProbeAt', now + tonumber(ARGV[3]))
  return 1
end
return 0
`

/** KEYS: state hash, probe lock. ARGV: now, max interval. A failed probe: open again, next probe after twice the interval (capped). */
const PROBE_FAILED = `
local interval = tonumber(redis.call('HGET', KEYS[1], 'probeIntervalMs') or '${FIRST_PROBE_INTERVAL_MS}')
interval = math.min(interval * 2, tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'circuit', 'open', 'probeIntervalMs', interval, 'nextProbeAt', tonumber(ARGV[1]) + interval)
redis.call('DEL', KEYS[2])
return interval
`

/** KEYS: state hash, probe lock. A successful probe closes the circuit. */
const PROBE_SUCCEEDED = `
redis.call('HSET', KEYS[1], 'circuit', 'closed', 'failures', 0)
redis.call('HDEL', KEYS[1], 'openedAt', 'probeIntervalMs', 'nextProbeAt')
redis.call('DEL', KEYS[2])
return 1
`

/** KEYS: state hash, probe lock. ARGV: now, lock token. Gives a probe back unused: the next one is due after the same interval. */
const PROBE_RETURNED = `
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if redis.call('HGET', KEYS[1], 'circuit') == 'half_open' then
  local interval = tonumber(redis.call('HGET', KEYS[1], 'probeIntervalMs') or '${FIRST_PROBE_INTERVAL_MS}')
  redis.call('HSET', KEYS[1], 'circuit', 'open', 'nextProbeAt', tonumber(ARGV[1]) + interval)
end
return 1
`

/** KEYS: the current second's counter. Counts one delivery in the window; returns the count. */
const RATE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
return n
`

interface GateScripts {
  zrGateFailed: (key: string, threshold: number, now: number, first: number) => Promise<number>
  zrGateProbeFailed: (key: string, lock: string, now: number, max: number) => Promise<number>
  zrGateProbeSucceeded: (key: string, lock: string) => Promise<number>
  zrGateProbeReturned: (key: string, lock: string, now: number, token: string) => Promise<number>
  zrGateRate: (key: string) => Promise<number>
}

function withGateScripts (redis: RedisClient): RedisClient & GateScripts {
  return defineScripts<GateScripts>(redis, {
    zrGateFailed: { lua: FAILED, numberOfKeys: 1 },
    zrGateProbeFailed: { lua: PROBE_FAILED, numberOfKeys: 2 },
    zrGateProbeSucceeded: { lua: PROBE_SUCCEEDED, numberOfKeys: 2 },
    zrGateProbeReturned: { lua: PROBE_RETURNED, numberOfKeys: 2 },
    zrGateRate: { lua: RATE, numberOfKeys: 1 }
  })
}

/**
 * One destination as this worker process sees it: whether it is paused,
 * whether its circuit is open, how many attempts both lanes may have in
 * flight, and its rate limit. The shared state lives in Redis
 * (destination-state.ts), read every `GATE_POLL_MS`; this process's own
 * outcomes update it at once.
 *
 * Closed: both lanes together may have up to `concurrency` attempts at the
 * destination (after a circuit closes: 1, then doubling with each round of
 * successes). Paused: nothing.
 * Open: nothing, except the probe: the one process holding the probe lock
 * offers it to its stream lane, then to its retry lane, and sends one real
 * waiting event.
 */
export class DestinationGate {
  readonly app: AppConfig
  readonly destination: DestinationConfig
  readonly settings: DestinationSettings
  private readonly redis: RedisClient & GateScripts
  private readonly key: string
  private readonly lockKey: string
  private readonly prefix: string
  private readonly logger: Logger
  private readonly token = randomBytes(8).toString('hex')
  private shared: SharedDestinationState = parseDestinationState({})
  private ramp: number
  private rampSuccesses = 0
  /** This process holds the probe lock, offered to `probeLane`; `probeBusy` once an attempt took it. */
  private probeHeld = false
  private probeLane: Lane = 'stream'
  private probeBusy = false
  private probeOfferedAt = 0
  /** The shared count of consecutive failures may be above 0: a success resets it. */
  private failuresKnown = false
  private listeners = new Set<() => void>()
  /** Attempts of each lane at the destination now, and those waiting for a place: one allowance for both lanes. */
  private readonly sending: Record<Lane, number> = { stream: 0, retry: 0 }
  private readonly queued: Array<{ lane: Lane, start: () => void }> = []

  constructor (opts: { config: Config, app: AppConfig, destination: DestinationConfig, redis: RedisClient, logger: Logger }) {
    this.app = opts.app
    this.destination = opts.destination
    this.settings = destinationSettings(opts.config, opts.destination)
    this.redis = withGateScripts(opts.redis)
    this.prefix = opts.config.redisPrefix
    this.key = destinationStateKey(this.prefix, opts.app, opts.destination)
    this.lockKey = probeLockKey(this.prefix, opts.app, opts.destination)
    this.logger = opts.logger.child({ app: opts.app.name, destination: opts.destination.name })
    this.ramp = this.maxConcurrency()
  }

  state (): DestinationState {
    return effectiveState(this.shared)
  }

  /**
   * Attempts `lane` may take on now. The stream lane reads only what the
   * places the retry lane leaves free can send, so its events wait in the
   * stream rather than in this process; the retry lane may hold more jobs
   * than places, each waiting in `send` for one.
   */
  allowance (lane: Lane): number {
    if (this.shared.paused) return 0
    if (this.settings.circuitBreaker === undefined || this.shared.circuit === 'closed') {
      return lane === 'stream' ? Math.max(0, this.ramp - this.sending.retry) : this.ramp
    }
    return this.probeHeld && this.probeLane === lane && !this.probeBusy ? 1 : 0
  }

  /**
   * Sends one admitted attempt of `lane` through `attempt` once one of the
   * destination's places is free: the two lanes share one allowance (the
   * concurrency, or the ramp after a circuit closed), so the destination never
   * sees more than that in flight from this process. Places go first come,
   * first served. `startedAt`: when the attempt left, not when it began to wait.
   */
  async send<R> (lane: Lane, attempt: () => Promise<R>): Promise<{ result: R, startedAt: number }> {
    if (this.queued.length > 0 || this.inFlight() >= this.ramp) {
      await new Promise<void>(resolve => { this.queued.push({ lane, start: resolve }) })
    } else {
      this.sending[lane]++
    }
    const startedAt = Date.now()
    try {
      return { result: await attempt(), startedAt }
    } finally {
      this.sending[lane]--
      this.startQueued()
      // The stream lane's allowance grows when a retry leaves.
      if (lane === 'retry') this.notify()
    }
  }

  /** Attempts at the destination now, both lanes. */
  inFlight (): number {
    return this.sending.stream + this.sending.retry
  }

  /** Hands free places (after a send, or a ramp step) to the attempts waiting, in order. */
  private startQueued (): void {
    while (this.queued.length > 0 && this.inFlight() < this.ramp) {
      const next = this.queued.shift() as { lane: Lane, start: () => void }
      this.sending[next.lane]++
      next.start()
    }
  }

  /** Resolves when the allowances may have changed, or after `ms`. */
  async changed (ms: number): Promise<void> {
    let listener: (() => void) | undefined
    await Promise.race([
      new Promise<void>(resolve => { listener = resolve; this.listeners.add(resolve) }),
      sleep(ms, undefined, { ref: false })
    ])
    if (listener !== undefined) this.listeners.delete(listener)
  }

  /** Calls `listener` whenever the allowances may have changed. */
  onChange (listener: () => void): () => void {
    const persistent = (): void => { listener(); this.listeners.add(persistent) }
    this.listeners.add(persistent)
    return () => { this.listeners.delete(persistent) }
  }

  /** The stream lane found nothing to send with the probe: the retry lane gets it. */
  streamIdle (): void {
    if (this.probeHeld && !this.probeBusy && this.probeLane === 'stream') {
      this.probeLane = 'retry'
      this.probeOfferedAt = Date.now()
      this.notify()
    }
  }

  /**
   * Admits one attempt of `lane`, or not (paused, open and not the probe).
   * The stream lane reads only within its allowance, so only a change of
   * state in between refuses it.
   */
  admit (lane: Lane): Admission | undefined {
    if (this.shared.paused) return undefined
    if (this.settings.circuitBreaker === undefined || this.shared.circuit === 'closed') return { probe: false }
    if (this.probeHeld && this.probeLane === lane && !this.probeBusy) {
      this.probeBusy = true
      this.notify()
      return { probe: true }
    }
    return undefined
  }

  /**
   * An event waited past the retry horizon (time paused not counted) while
   * the circuit was open: it expires instead of being sent. Checked when the
   * probe takes an event, so each probe first clears out, oldest first, what
   * waited too long; a closed circuit's first attempts and retries run their
   * own schedule.
   */
  expired (receivedAt: number, admission: Admission, now = Date.now()): boolean {
    if (!admission.probe) return false
    const waited = now - receivedAt - pausedOverlapMs(this.shared, receivedAt, now)
    return waited > this.settings.horizonMs
  }

  /** Waits until the rate limit (across all workers) lets one more delivery through. */
  async rateToken (): Promise<void> {
    const perSecond = this.settings.perSecond
    if (perSecond === undefined) return
    for (;;) {
      const now = Date.now()
      const second = Math.floor(now / 1000)
      const count = await this.redis.zrGateRate(rateWindowKey(this.prefix, this.app, this.destination, second))
      if (count <= perSecond) return
      // A little spread, so the waiting workers do not all ask again at the same instant.
      await sleep((second + 1) * 1000 - now + Math.floor(Math.random() * 20))
    }
  }

  /** Records how an admitted attempt ended: closes or reopens a probed circuit, counts failures, ramps up. */
  async finished (admission: Admission, result: AttemptResult | 'not_sent'): Promise<void> {
    const breaker = this.settings.circuitBreaker
    const outcome = outcomeOf(result)
    if (admission.probe) {
      this.probeBusy = false
      if (outcome === 'none') { this.notify(); return }
      this.probeHeld = false
      if (outcome === 'success') {
        await this.redis.zrGateProbeSucceeded(this.key, this.lockKey)
        this.shared = { ...this.shared, circuit: 'closed', failures: 0 }
        this.closed()
        this.logger.info('circuit closed: the probe was delivered; delivery resumes, ramping up')
      } else {
        const interval = await this.redis.zrGateProbeFailed(this.key, this.lockKey, Date.now(), breaker?.maxProbeIntervalMs ?? 60_000)
        this.shared = { ...this.shared, circuit: 'open' }
        this.logger.info({ nextProbeInMs: interval }, 'circuit still open: the probe failed')
      }
      this.notify()
      return
    }
    if (outcome === 'success') {
      if (this.failuresKnown) {
        this.failuresKnown = false
        await this.redis.hset(this.key, 'failures', 0)
      }
      if (this.ramp < this.maxConcurrency() && ++this.rampSuccesses >= this.ramp) {
        this.ramp = Math.min(this.maxConcurrency(), this.ramp * 2)
        this.rampSuccesses = 0
        this.startQueued()
        this.notify()
      }
    } else if (outcome === 'failure' && breaker !== undefined && this.shared.circuit === 'closed') {
      this.failuresKnown = true
      if (await this.redis.zrGateFailed(this.key, breaker.failures, Date.now(), FIRST_PROBE_INTERVAL_MS) === 1) {
        this.shared = { ...this.shared, circuit: 'open' }
        this.logger.warn({ failures: breaker.failures }, 'circuit opened: consecutive failed attempts; events wait, one probe at growing intervals')
        this.notify()
      }
    }
  }

  /** Reads the shared state, takes or gives back the probe. Called every `GATE_POLL_MS`. */
  async poll (now = Date.now()): Promise<void> {
    const before = { state: this.state(), stream: this.allowance('stream'), retry: this.allowance('retry') }
    const wasClosed = this.shared.circuit === 'closed'
    this.shared = parseDestinationState(await this.redis.hgetall(this.key))
    if (this.shared.failures > 0) this.failuresKnown = true
    if (!wasClosed && this.shared.circuit === 'closed') this.closed()
    if (this.probeHeld && !this.probeBusy && (this.shared.paused || this.shared.circuit === 'closed' || (this.probeLane === 'retry' && now - this.probeOfferedAt > PROBE_HANDOVER_MS))) {
      // Nothing waited for the probe (or it is not needed any more): give it back.
      this.probeHeld = false
      await this.redis.zrGateProbeReturned(this.key, this.lockKey, now, this.token)
      this.shared = parseDestinationState(await this.redis.hgetall(this.key))
    }
    if (this.settings.circuitBreaker !== undefined && !this.shared.paused && this.shared.circuit !== 'closed' && !this.probeHeld && now >= (this.shared.nextProbeAt ?? 0)) {
      const lockMs = this.settings.timeoutMs + 5000
      if (await this.redis.set(this.lockKey, this.token, 'PX', lockMs, 'NX') === 'OK') {
        this.probeHeld = true
        this.probeLane = 'stream'
        this.probeOfferedAt = now
        await this.redis.hset(this.key, 'circuit', 'half_open')
        this.shared = { ...this.shared, circuit: 'half_open' }
      }
    }
    if (before.state !== this.state() || before.stream !== this.allowance('stream') || before.retry !== this.allowance('retry')) this.notify()
  }

  /** Lets go of a probe this process holds (shutdown). */
  async release (): Promise<void> {
    if (!this.probeHeld) return
    this.probeHeld = false
    await this.redis.zrGateProbeReturned(this.key, this.lockKey, Date.now(), this.token).catch(() => {})
  }

  private closed (): void {
    this.ramp = 1
    this.rampSuccesses = 0
  }

  /** A lane's ceiling: the concurrency, and no more than a rate limit lets through in a second (the rest would only wait holding events). */
  private maxConcurrency (): number {
    const { concurrency, perSecond } = this.settings
    return perSecond === undefined ? concurrency : Math.max(1, Math.min(concurrency, perSecond))
  }

  private notify (): void {
    const listeners = [...this.listeners]
    this.listeners.clear()
    for (const listener of listeners) listener()
  }
}

/**
 * For the circuit: a delivery, and any answer that says the destination is
 * up (a 4xx rejection), are successes; what a retry may fix is a failure; an
 * event never sent (corrupt, expired) says nothing.
 */
function outcomeOf (result: AttemptResult | 'not_sent'): 'success' | 'failure' | 'none' {
  if (result === 'not_sent') return 'none'
  switch (result.outcome) {
    case 'delivered': return 'success'
    case 'retry': return 'failure'
    case 'dead-letter': return result.reason === 'rejected' ? 'success' : result.reason === 'attempts_exhausted' ? 'failure' : 'none'
  }
}

/** Every destination's gate in this worker process, polled together. */
export class DestinationGates {
  private readonly gates = new Map<DestinationConfig, DestinationGate>()
  private readonly timer: NodeJS.Timeout
  private readonly logger: Logger
  private polling = false
  private failing = false

  constructor (opts: { config: Config, redis: RedisClient, logger: Logger, pollMs?: number }) {
    this.logger = opts.logger
    for (const app of opts.config.apps) {
      for (const destination of app.destinations) {
        this.gates.set(destination, new DestinationGate({ config: opts.config, app, destination, redis: opts.redis, logger: opts.logger }))
      }
    }
    this.timer = setInterval(() => { void this.poll() }, opts.pollMs ?? GATE_POLL_MS)
    this.timer.unref()
  }

  /** The gate of `destination` (a configured one). */
  of (destination: DestinationConfig): DestinationGate {
    const gate = this.gates.get(destination)
    if (gate === undefined) throw new Error(`no gate for destination ${destination.name}`)
    return gate
  }

  /** Reads every destination's shared state now (also at start: a paused destination stays paused). */
  async poll (): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      await Promise.all([...this.gates.values()].map(async gate => { await gate.poll() }))
      this.failing = false
    } catch (err) {
      // Redis away: keep obeying the last state read.
      if (!this.failing) this.logger.warn({ message: (err as Error).message }, 'could not read the destinations\' shared state; keeping the last one')
      this.failing = true
    } finally {
      this.polling = false
    }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    await Promise.all([...this.gates.values()].map(async gate => { await gate.release() }))
  }
}
