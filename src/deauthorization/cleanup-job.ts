import type { AppConfig } from '../config/config.js'

/** One clean-up after `app_deauthorized`: which Zoom user/account removed the app. */
export interface CleanupJobData {
  accountId: string | undefined
  userId: string | undefined
  /** Epoch ms when the relay accepted the event. */
  receivedAt: number
}

/** `{<app>.deauthorization}`: a hash-tagged queue of its own, apart from deliveries; one job cleans every provider. */
export function cleanupQueueName (app: Pick<AppConfig, 'name'>): string {
  return `{${app.name}.deauthorization}`
}
