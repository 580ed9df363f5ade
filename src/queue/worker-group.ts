import { Worker, type Job, type MinimalJob, type WorkerOptions } from 'bullmq'
import type { RedisClient } from './redis-connection.js'
import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import { retryDelay } from '../relay/retry-policy.js'
import { RELAY_BACKOFF } from './relay-queues.js'

/** Times a job (or stream entry) may be taken over from a worker that died holding it before it is given up. */
export const MAX_STALLED_COUNT = 10

/**
 * BullMQ options every relay worker shares. The lock must outlive the
 * slowest attempt, or stalled-job recovery would re-run work still in flight;
 * a worker killed mid-job is routine (deploys, OOM), so a job is given up
 * only when it keeps killing workers.
 */
export function workerOptions (config: Config, connection: RedisClient): WorkerOptions {
  const lockDuration = lockDurationMs(config)
  return {
    connection,
    prefix: config.redisPrefix,
    concurrency: config.deliveryConcurrency,
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
        return retryDelay(prior + attemptsMade, config.retry, type === RELAY_BACKOFF && typeof asked === 'number' ? asked : undefined)
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
  return 2 * Math.max(config.deliveryTimeoutMs, config.providerApiTimeoutMs) + 5000
}

/** A set of workers started and stopped together, each logging its own errors. */
export class WorkerGroup {
  protected readonly workers: Worker[] = []
  protected readonly logger: Logger

  constructor (logger: Logger) {
    this.logger = logger
  }

  protected start<T> (name: string, processor: (job: Job<T>) => Promise<unknown>, options: WorkerOptions, labels: Record<string, string>): void {
    const worker = new Worker<T>(name, processor, options)
    worker.on('error', err => { this.logger.error({ err, ...labels }, 'worker error') })
    this.workers.push(worker as Worker)
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
      await Promise.all(this.workers.map(async w => await w.close(true)))
    }
    clearTimeout(timer)
  }
}
