import type { Logger } from 'pino'
import type { Config } from '../config/config.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { BODY_FIELD, type StreamEntry } from '../store/stored-event.js'
import { readEventEnvelope, type EventEnvelope } from '../zoom/event-envelope.js'
import { StreamConsumer, StreamConsumerSet } from '../store/stream-consumer.js'
import { cleanupStreamKey, entryTime } from '../store/stream-keys.js'
import { lockDurationMs, MAX_STALLED_COUNT } from '../retry/worker-group.js'
import type { RelayQueues } from '../retry/relay-queues.js'
import type { CleanupJobData } from './cleanup-job.js'

/**
 * Turns the `app_deauthorized` records the web role stores (in the same
 * step as the event itself) into jobs of the app's clean-up queue, where
 * CleanupWorkers handle them with retries and dead letters. The stream entry
 * id is the job id, so a record taken over after a crash adds no second job.
 */
export class CleanupIntake extends StreamConsumerSet {
  constructor (opts: { config: Config, connection: RedisClient, queues: RelayQueues, logger: Logger }) {
    super()
    for (const app of opts.config.apps) {
      const queue = opts.queues.cleanupQueue(app.name)
      if (queue === undefined) continue
      const toJob = async (entry: StreamEntry): Promise<void> => {
        // The record is the event's body: who removed the app is read from it here, off the request path.
        const body = entry.fields.get(BODY_FIELD)
        let deauthorized: EventEnvelope['deauthorized']
        try {
          deauthorized = body === undefined ? undefined : readEventEnvelope(body).deauthorized
        } catch {}
        const data: CleanupJobData = { accountId: deauthorized?.accountId, userId: deauthorized?.userId, receivedAt: entryTime(entry.id) }
        await queue.add('app_deauthorized', data, { jobId: entry.id })
      }
      this.consumers.push(new StreamConsumer({
        redis: opts.connection,
        key: cleanupStreamKey(opts.config.redisPrefix, app),
        concurrency: 4,
        claimIdleMs: lockDurationMs(opts.config),
        maxDeliveries: MAX_STALLED_COUNT + 1,
        handle: toJob,
        abandon: toJob,
        logger: opts.logger,
        labels: { app: app.name, queue: 'deauthorization-cleanup' }
      }))
    }
  }
}
