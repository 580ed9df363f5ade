import type { AppConfig, DestinationConfig } from '../config/config.js'

/**
 * One BullMQ queue per app and destination, so each destination has its own
 * retries, dead letters and pace. The braces are a Redis Cluster hash tag:
 * every key of one queue lands in one slot.
 */
export function queueName (app: Pick<AppConfig, 'name'>, destination: Pick<DestinationConfig, 'name'>): string {
  return `{${app.name}.${destination.name}}`
}
