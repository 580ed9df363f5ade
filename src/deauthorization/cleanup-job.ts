import type { AppConfig, DeauthorizationConfig } from '../config/config.js'

/** One clean-up after `app_deauthorized`: which Zoom user/account removed the app. */
export interface CleanupJobData {
  accountId: string | undefined
  userId: string | undefined
  /** Epoch ms when the relay accepted the event. */
  receivedAt: number
}

/** `{<app>.<destination>.deauthorization}`: a hash-tagged queue of its own, apart from deliveries. */
export function cleanupQueueName (app: Pick<AppConfig, 'name'>, deauthorization: DeauthorizationConfig): string {
  return `{${app.name}.${deauthorization.destination}.deauthorization}`
}
