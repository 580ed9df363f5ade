import { Writable } from 'node:stream'
import type { Role } from '../../src/config/config.js'
import { loadConfig } from '../../src/config/load-config.js'
import { runRelay, type RunningRelay } from '../../src/cli/run-relay.js'
import { createLogger } from '../../src/logger.js'

export interface TestRelay extends RunningRelay {
  /** Every log line written so far, raw JSON. */
  logs: string[]
  webhookUrl: (app?: string) => string
}

export const SECRET = 'test-secret-token-0123456789'
export const RECALL_APP_ID = '32721c6e-3acf-4511-851c-55772cfb34b7'

/** Runs the relay in this process against real Redis and real HTTP, on free ports. */
export async function startTestRelay (opts: { redisUrl: string, recallBaseUrl: string, role?: Role, env?: Record<string, string> }): Promise<TestRelay> {
  const config = loadConfig({
    ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
    RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID,
    RECALL_BASE_URL: opts.recallBaseUrl,
    REDIS_URL: opts.redisUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    METRICS_PORT: '0',
    RETRY_BASE_DELAY_MS: '50',
    RETRY_MAX_DELAY_MS: '200',
    LOG_LEVEL: 'debug',
    ...opts.env
  })
  const logs: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done() } })
  const relay = await runRelay(opts.role ?? 'all', config, createLogger(config.logLevel, sink))
  return {
    ...relay,
    logs,
    webhookUrl: (app?: string) => `${relay.webUrl ?? ''}/zoom/webhook${app === undefined ? '' : `/${app}`}`
  }
}
