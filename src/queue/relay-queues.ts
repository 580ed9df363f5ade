import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import type { QueueDepthReader } from '../metrics/relay-metrics.js'
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

/** One BullMQ Queue per app × destination, sharing one Redis connection. */
export class RelayQueues {
  private readonly byApp = new Map<string, DestinationQueue[]>()

  constructor (config: Config, connection: Redis) {
    for (const app of config.apps) {
      this.byApp.set(app.name, app.destinations.map(destination => ({
        app,
        destination,
        queue: new Queue<RelayJobData>(queueName(app, destination), {
          connection,
          prefix: config.redisPrefix,
          // Not skipWaitingForReady: BullMQ's one-time init (INFO) would fail for
          // good if Redis were down at start-up. Ingress never waits on it anyway:
          // EventProducer answers 503 after its own timeout.
          defaultJobOptions: {
            attempts: config.retry.attempts,
            backoff: { type: RELAY_BACKOFF },
            removeOnComplete: { count: config.completedJobsKept },
            removeOnFail: { age: config.deadLetterRetentionSeconds }
          }
        })
      })))
    }
  }

  forApp (appName: string): readonly DestinationQueue[] {
    return this.byApp.get(appName) ?? []
  }

  all (): DestinationQueue[] {
    return [...this.byApp.values()].flat()
  }

  /** Reads the depth of every queue, for the `zoom_relay_queue_jobs` gauge. */
  readonly depth: QueueDepthReader = async () => await Promise.all(this.all().map(async ({ app, destination, queue }) => ({
    app: app.name,
    destination: destination.name,
    counts: await queue.getJobCounts(...DEPTH_STATES)
  })))

  async close (): Promise<void> {
    await Promise.all(this.all().map(async ({ queue }) => await queue.close()))
  }
}
