import { setTimeout as sleep } from 'node:timers/promises'
import { Worker, type Job, type MinimalJob, type WorkerOptions } from 'bullmq'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Logger } from 'pino'
import type { Config, RetryConfig } from '../config/config.js'
import { retryDelay } from './retry-policy.js'
import { longestTimeoutMs } from './destination-settings.js'
import { OutageLog } from '../redis/outage-log.js'
import { RELAY_BACKOFF } from './relay-queues.js'

/** Times a job (or stream entry) may be taken over from a worker that died holding it before it is given up. */
export const MAX_STALLED_COUNT = 10

/**
 * BullMQ options every relay worker shares. The lock must outlive the
 * slowest attempt, or stalled-job recovery would re-run work still in flight;
 * a worker killed mid-job is routine (deploys, OOM), so a job is given up
 * only when it keeps killing workers.
 */
export function workerOptions (config: Config, connection: RedisClient, perQueue: { concurrency?: number, retry?: RetryConfig } = {}): WorkerOptions {
  const lockDuration = lockDurationMs(config)
  const retry = perQueue.retry ?? config.retry
  return {
    connection,
    prefix: config.redisPrefix,
    concurrency: perQueue.concurrency ?? config.deliveryConcurrency,
    lockDuration,
    // Jobs of a worker that died are taken up again within about two lock durations.
    stalledInterval: lockDuration,
    maxStalledCount: MAX_STALLED_COUNT,
    removeOnComplete: { count: config.completedJobsKept },
    removeOnFail: { age: config.deadLetterRetentionSeconds },
    settings: {
      // A destination's Retry-After (already bounded) may lengthen our own schedule, never
      // shorten it; the schedule goes on from the attempts made before the event reached its retry queue.
      backoffStrategy: (attemptsMade: number, type?: string, err?: Error, job?: MinimalJob) => {
        const asked = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs
        const prior = (job?.data as { priorAttempts?: number } | undefined)?.priorAttempts ?? 0
        return retryDelay(prior + attemptsMade, retry, type === RELAY_BACKOFF && typeof asked === 'number' ? asked : undefined)
      }
    }
  }
}

/**
 * Twice the longest attempt (delivery or provider API call) plus 5 s: the
 * worker renews the lock every half of it while the attempt runs, so even a
 * renewal delayed by a busy event loop lands before the lock expires.
 */
export function lockDurationMs (config: Config): number {
  return 2 * Math.max(longestTimeoutMs(config), config.providerApiTimeoutMs) + 5000
}

/** How long a worker's connections may take to drop once its close timed out. */
const DISCONNECT_TIMEOUT_MS = 2000

/**
 * A set of workers started and stopped together, each logging its own errors:
 * once when they start, at most once a minute while they go on (BullMQ
 * reports every failed reconnect of a worker's connections, every 2 s while
 * Redis is away), and once more after the connection is back.
 */
export class WorkerGroup {
  protected readonly workers: Worker[] = []
  protected readonly logger: Logger
  private readonly outages: OutageLog[] = []
  private readonly watched = new WeakSet<object>()

  constructor (logger: Logger) {
    this.logger = logger
  }

  protected start<T> (name: string, processor: (job: Job<T>, token?: string) => Promise<unknown>, options: WorkerOptions, labels: Record<string, string>): Worker<T> {
    const worker = new Worker<T>(name, processor, options)
    const outage = new OutageLog({ logger: this.logger, labels, lost: 'worker error', restored: 'worker connection restored' })
    this.outages.push(outage)
    worker.on('error', err => { outage.failed(err) })
    // The shared connection tells when Redis is back (the workers' own duplicates follow it).
    const connection = options.connection as { on?: (event: string, listener: () => void) => unknown }
    if (typeof connection.on === 'function' && !this.watched.has(connection)) {
      this.watched.add(connection)
      connection.on('ready', () => { for (const o of this.outages) o.recovered() })
    }
    this.workers.push(worker as Worker)
    return worker
  }

  isRunning (): boolean {
    return this.workers.every(w => w.isRunning())
  }

  /**
   * Stops taking jobs and waits for jobs in flight, at most `timeoutMs`;
   * anything still running then is left to stalled-job recovery elsewhere.
   */
  async close (timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const graceful = Promise.all(this.workers.map(async w => await w.close()))
    const timedOut = new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), timeoutMs) })
    if (await Promise.race([graceful.then(() => false), timedOut]) === true) {
      this.logger.warn({ timeoutMs }, 'jobs still in flight at shutdown; they will be retried')
      // close(true) would only return the close already under way (BullMQ keeps the first), which
      // waits for Redis while it is away: drop the workers' connections instead, bounded too.
      const dropped = Promise.all(this.workers.map(async w => { await w.disconnect().catch(() => {}) }))
      await Promise.race([dropped, sleep(DISCONNECT_TIMEOUT_MS, undefined, { ref: false })])
    }
    clearTimeout(timer)
  }
}
