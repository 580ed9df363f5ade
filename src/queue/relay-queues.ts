import { Queue, type DefaultJobOptions } from 'bullmq'
import type { RedisClient } from './redis-connection.js'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { cleanupQueueName, type CleanupJobData } from '../deauthorization/cleanup-job.js'
import type { QueueDepthReader } from '../metrics/relay-metrics.js'
import { acceptsEvent } from '../relay/event-filter.js'
import { queueName } from './queue-name.js'
import type { RelayJobData } from './relay-job.js'

/** Name of the custom BullMQ backoff type; the worker's `backoffStrategy` implements it. */
export const RELAY_BACKOFF = 'relay-backoff'

export interface DestinationQueue {
  app: AppConfig
  destination: DestinationConfig
  queue: Queue<RelayJobData>
}

/** The job states reported as queue depth; `failed` is the dead-letter set. */
export const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const

/**
 * Retries, stored with every job. Trimming of completed jobs and dead-letter
 * retention are the workers' options instead (see worker-group.ts): the same
 * for every job, so not repeated in each job's hash in Redis.
 */
export function defaultJobOptions (config: Config): DefaultJobOptions {
  return {
    attempts: config.retry.attempts,
    backoff: { type: RELAY_BACKOFF }
  }
}

/**
 * One BullMQ Queue per app × destination, plus one per app for the
 * deauthorization clean-up where configured, all sharing one connection.
 */
export class RelayQueues {
  private readonly byApp = new Map<string, DestinationQueue[]>()
  private readonly cleanups = new Map<string, Queue<CleanupJobData>>()

  constructor (config: Config, connection: RedisClient) {
    // Not skipWaitingForReady: BullMQ's one-time init (INFO) would fail for
    // good if Redis were down at start-up. Ingress never waits on it anyway:
    // EventProducer answers 503 after its own timeout.
    const options = { connection, prefix: config.redisPrefix, defaultJobOptions: defaultJobOptions(config) }
    for (const app of config.apps) {
      this.byApp.set(app.name, app.destinations.map(destination => ({
        app,
        destination,
        queue: quiet(new Queue<RelayJobData>(queueName(app, destination), options))
      })))
      if (app.deauthorization !== undefined) this.cleanups.set(app.name, quiet(new Queue<CleanupJobData>(cleanupQueueName(app, app.deauthorization), options)))
    }
  }

  forApp (appName: string): readonly DestinationQueue[] {
    return this.byApp.get(appName) ?? []
  }

  /** The queues of the destinations whose event filter takes `event`, and the names of those it skips. */
  forEvent (appName: string, event: string): { targets: DestinationQueue[], skipped: string[] } {
    const targets: DestinationQueue[] = []
    const skipped: string[] = []
    for (const target of this.forApp(appName)) {
      if (acceptsEvent(target.destination.events, event)) targets.push(target)
      else skipped.push(target.destination.name)
    }
    return { targets, skipped }
  }

  /** The app's clean-up queue; undefined when clean-up is off. */
  cleanupQueue (appName: string): Queue<CleanupJobData> | undefined {
    return this.cleanups.get(appName)
  }

  all (): DestinationQueue[] {
    return [...this.byApp.values()].flat()
  }

  /** Reads the depth of every queue, for the `zoom_relay_queue_jobs` gauge. */
  readonly depth: QueueDepthReader = async () => await Promise.all([
    ...this.all().map(async ({ app, destination, queue }) => {
      const [counts, [oldest]] = await Promise.all([queue.getJobCounts(...DEPTH_STATES), queue.getJobs(['wait'], 0, 0, true)])
      return { app: app.name, destination: destination.name, counts, oldestWaitingMs: oldest === undefined ? null : Math.max(0, Date.now() - oldest.data.receivedAt) }
    }),
    ...[...this.cleanups].map(async ([app, queue]) => ({ app, destination: 'deauthorization-cleanup', counts: await queue.getJobCounts(...DEPTH_STATES) }))
  ])

  async close (): Promise<void> {
    await Promise.all([...this.all().map(({ queue }) => queue), ...this.cleanups.values()].map(async queue => await queue.close()))
  }
}

/**
 * BullMQ prints every connection error of a Queue without an 'error' listener.
 * The shared connection's outages are already logged once each (run-relay.ts),
 * and a failed enqueue answers 503 with its own metric and log line.
 */
function quiet<T extends Queue> (queue: T): T {
  queue.on('error', () => {})
  return queue
}
