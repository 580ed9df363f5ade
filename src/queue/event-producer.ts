import { EnqueueError } from '../errors.js'
import type { RelayJobData } from './relay-job.js'
import type { RelayQueues } from './relay-queues.js'

/**
 * Stores one verified event for every destination of its app. Resolves only
 * once Redis has accepted every job; rejects with `EnqueueError` (→ 503, Zoom
 * retries) when Redis refuses or does not answer within `timeoutMs`.
 * A job that Redis stored after the timeout fired is delivered anyway: the
 * retry Zoom sends then is a duplicate, which at-least-once allows.
 */
export class EventProducer {
  private readonly queues: RelayQueues
  private readonly timeoutMs: number

  constructor (queues: RelayQueues, timeoutMs: number) {
    this.queues = queues
    this.timeoutMs = timeoutMs
  }

  async enqueue (appName: string, data: RelayJobData): Promise<void> {
    const targets = this.queues.forApp(appName)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EnqueueError(`Redis did not accept the event within ${this.timeoutMs} ms.`)), this.timeoutMs)
    })
    try {
      await Promise.race([
        Promise.all(targets.map(async ({ queue }) => await queue.add(data.event, data))),
        timeout
      ])
    } catch (err) {
      if (err instanceof EnqueueError) throw err
      throw new EnqueueError(`Redis refused the event: ${(err as Error).message}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
