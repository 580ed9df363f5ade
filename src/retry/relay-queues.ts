import { Queue, type DefaultJobOptions } from 'bullmq'
import type { RedisClient } from '../redis/redis-connection.js'
import type { AppConfig, Config, DestinationConfig } from '../config/config.js'
import { cleanupQueueName, type CleanupJobData } from '../deauthorization/cleanup-job.js'
import type { QueueDepthReader } from '../metrics/relay-metrics.js'
import { queueName } from './queue-name.js'
import { streamDepth } from '../store/stream-depth.js'
import { cleanupStreamKey, eventStreamKey } from '../store/stream-keys.js'
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
 * Retries, stored with every job of a retry queue. Trimming of completed jobs and dead-letter
 * retention are the workers' options instead (see worker-group.ts): the same
 * for every job, so not repeated in each job's hash in Redis.
 */
export function defaultJobOptions (config: Config): DefaultJobOptions {
  return {
    attempts: config.retry.attempts,
    backoff: { type: RELAY_BACKOFF },
    // BullMQ keeps every failed attempt's stack trace in the job unless told otherwise: up to
    // 36 stacks per job during an outage. The last error is kept in failedReason and progress.
    stackTraceLimit: 0
  }
}

/** What waits for one destination: its stream (first attempts) and its retry queue, counted together. */
export interface DestinationDepth {
  app: string
  destination: string
  /** `waiting`: not yet attempted or due again; `active`: being attempted; `delayed`: retries scheduled; `failed`: dead letters. */
  counts: Record<typeof DEPTH_STATES[number], number>
  /** Age of the oldest event waiting for its first attempt or for a retry that is due, ms; null when none waits. */
  oldestWaitingMs: number | null
}

/**
 * Every destination's retry queue (one BullMQ Queue per app × destination)
 * and, where configured, each app's deauthorization clean-up queue, all
 * sharing one connection; and the depth of the destinations' streams.
 */
export class RelayQueues {
  private readonly byApp = new Map<string, DestinationQueue[]>()
  private readonly cleanups = new Map<string, Queue<CleanupJobData>>()
  private readonly connection: RedisClient
  private readonly prefix: string

  constructor (config: Config, connection: RedisClient) {
    this.connection = connection
    this.prefix = config.redisPrefix
    // Not skipWaitingForReady: BullMQ's one-time init (INFO) would fail for
    // good if Redis were down at start-up.
    const options = { connection, prefix: config.redisPrefix, defaultJobOptions: defaultJobOptions(config) }
    for (const app of config.apps) {
      this.byApp.set(app.name, app.destinations.map(destination => ({
        app,
        destination,
        queue: quiet(new Queue<RelayJobData>(queueName(app, destination), options))
      })))
      if (app.deauthorization !== undefined) this.cleanups.set(app.name, quiet(new Queue<CleanupJobData>(cleanupQueueName(app), options)))
    }
  }

  /** The app's clean-up queue; undefined when clean-up is off. */
  cleanupQueue (appName: string): Queue<CleanupJobData> | undefined {
    return this.cleanups.get(appName)
  }

  all (): DestinationQueue[] {
    return [...this.byApp.values()].flat()
  }

  /** Stream and retry queue of every destination, counted together. */
  async destinationDepths (now = Date.now()): Promise<DestinationDepth[]> {
    return await Promise.all(this.all().map(async ({ app, destination, queue }) => {
      const [stream, counts, [oldestRetry]] = await Promise.all([
        streamDepth(this.connection, eventStreamKey(this.prefix, app, destination)),
        queue.getJobCounts(...DEPTH_STATES),
        queue.getJobs(['wait'], 0, 0, true)
      ])
      const oldest = Math.min(stream.oldestAt ?? Infinity, oldestRetry?.data.receivedAt ?? Infinity)
      return {
        app: app.name,
        destination: destination.name,
        counts: {
          waiting: stream.waiting + (counts.waiting ?? 0),
          active: stream.pending + (counts.active ?? 0),
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0
        },
        oldestWaitingMs: oldest === Infinity ? null : Math.max(0, now - oldest)
      }
    }))
  }

  /** Reads the depth of every queue, for the `zoom_relay_queue_jobs` gauge. */
  readonly depth: QueueDepthReader = async () => [
    ...await this.destinationDepths(),
    ...await Promise.all([...this.cleanups].map(async ([app, queue]) => {
      const stream = await streamDepth(this.connection, cleanupStreamKey(this.prefix, { name: app }))
      const counts = await queue.getJobCounts(...DEPTH_STATES)
      return { app, destination: 'deauthorization-cleanup', counts: { ...counts, waiting: (counts.waiting ?? 0) + stream.waiting + stream.pending } }
    }))
  ]

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
