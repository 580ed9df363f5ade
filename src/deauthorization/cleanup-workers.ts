import { UnrecoverableError, type Job } from 'bullmq'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Logger } from 'pino'
import type { AppConfig, Config, DeauthorizationConfig, DestinationConfig } from '../config/config.js'
import { ProviderApiError } from '../errors.js'
import type { RelayMetrics } from '../metrics/relay-metrics.js'
import type { ProviderApis } from '../providers/provider-apis.js'
import type { CredentialFilters } from '../providers/recall-api.js'
import { WorkerGroup, workerOptions } from '../retry/worker-group.js'
import { cleanupQueueName, type CleanupJobData } from './cleanup-job.js'

export interface CleanupResult {
  deleted: number
  alreadyGone: number
}

/** What the clean-up needs of a provider: whose records there are, and deleting one. */
interface RemovableRecords {
  /** Singular, for the log: `credential`, `connection`. */
  noun: string
  ids: (filters: CredentialFilters) => Promise<string[]>
  delete: (id: string) => Promise<'deleted' | 'gone'>
}

/**
 * Deletes the Recall Zoom OAuth credentials or Attendee Zoom OAuth
 * connections of whoever removed the app: Recall is not told about
 * deauthorizations (a later re-install would hit its "credential already
 * exists" conflict), and Attendee would keep a connection with revoked tokens.
 * Only that user's (or account's) records of the configured provider app are
 * touched. Idempotent: a record already gone counts as done. Failures retry
 * on the delivery schedule and end in the queue's dead-letter set.
 */
export class CleanupWorkers extends WorkerGroup {
  private readonly apis: ProviderApis
  private readonly metrics: RelayMetrics

  constructor (opts: { config: Config, connection: RedisClient, apis: ProviderApis, metrics: RelayMetrics, logger: Logger }) {
    super(opts.logger)
    this.apis = opts.apis
    this.metrics = opts.metrics
    const options = workerOptions(opts.config, opts.connection)
    for (const app of opts.config.apps) {
      const deauthorization = app.deauthorization
      if (deauthorization === undefined) continue
      this.start<CleanupJobData>(cleanupQueueName(app), async job => await this.cleanUp(app, deauthorization, job), options, { app: app.name, queue: 'deauthorization-cleanup' })
    }
  }

  private async cleanUp (app: AppConfig, deauthorization: DeauthorizationConfig, job: Job<CleanupJobData>): Promise<CleanupResult> {
    const destinations = deauthorization.destinations.map(name => {
      const destination = app.destinations.find(d => d.name === name)
      if (destination === undefined) throw new UnrecoverableError(`destination ${name} is no longer configured`)
      return destination
    })
    const filters = credentialFilters(deauthorization, job.data)
    const log = { app: app.name, jobId: job.id, accountId: job.data.accountId, userId: job.data.userId }
    if (filters === undefined) {
      this.metrics.deauthorizationCleanups.inc({ app: app.name, outcome: 'nothing_found' })
      this.logger.warn(log, `app_deauthorized without the ${deauthorization.match === 'user' ? 'user_id' : 'account_id'} to match credentials or connections on; nothing deleted`)
      return { deleted: 0, alreadyGone: 0 }
    }
    const result: CleanupResult = { deleted: 0, alreadyGone: 0 }
    try {
      // In order, each to the end: a retry starts again from the first, whose records are then already gone.
      for (const destination of destinations) {
        const records = this.records(app, destination)
        const own: CleanupResult = { deleted: 0, alreadyGone: 0 }
        for (const id of await records.ids(filters)) {
          if (await records.delete(id) === 'deleted') own.deleted++
          else own.alreadyGone++
        }
        this.metrics.deauthorizedCredentialsDeleted.inc({ app: app.name }, own.deleted)
        result.deleted += own.deleted
        result.alreadyGone += own.alreadyGone
        this.logger.info({ ...log, provider: destination.kind, destination: destination.name, ...own }, `${destination.kind === 'recall' ? 'Recall' : 'Attendee'} ${records.noun}s of a deauthorized Zoom user cleaned up`)
      }
      this.metrics.deauthorizationCleanups.inc({ app: app.name, outcome: result.deleted > 0 ? 'cleaned' : 'nothing_found' })
      return result
    } catch (err) {
      if (!(err instanceof ProviderApiError)) throw err
      const finalAttempt = !err.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
      this.metrics.deauthorizationCleanups.inc({ app: app.name, outcome: finalAttempt ? 'dead_lettered' : 'retry' })
      this.logger[finalAttempt ? 'error' : 'info']({ ...log, status: err.status }, `deauthorization clean-up ${finalAttempt ? 'dead-lettered' : 'failed, will retry'}: ${err.message}`)
      if (!err.retryable) throw new UnrecoverableError(err.message)
      throw err
    }
  }

  private records (app: AppConfig, destination: DestinationConfig): RemovableRecords {
    if (destination.kind === 'attendee') {
      const attendee = this.apis.attendee(app, destination)
      return {
        noun: 'connection',
        // Attendee's names are the same as Recall's filters: user_id, account_id.
        ids: async filters => (await attendee.listConnections({ user_id: filters.user_id, account_id: filters.account_id })).map(c => c.id),
        delete: async id => await attendee.deleteConnection(id)
      }
    }
    const recall = this.apis.recall(app, destination)
    return {
      noun: 'credential',
      ids: async filters => (await recall.listCredentials(filters)).map(c => c.id),
      delete: async id => await recall.deleteCredential(id)
    }
  }
}

/** Which credentials (Recall) or connections (Attendee) to delete; undefined when the event lacks the id to match on. */
export function credentialFilters (deauthorization: DeauthorizationConfig, data: CleanupJobData): CredentialFilters | undefined {
  if (deauthorization.match === 'account') return data.accountId === undefined ? undefined : { account_id: data.accountId }
  if (data.userId === undefined) return undefined
  return data.accountId === undefined ? { user_id: data.userId } : { user_id: data.userId, account_id: data.accountId }
}
