import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { RedisClient } from '../redis/redis-connection.js'
import type { Logger } from 'pino'
import type { Config, Role } from '../config/config.js'
import type { ReadinessReport } from '../ingress/health-routes.js'
import { buildWebApp, type WebAppOptions } from '../ingress/web-app.js'
import { buildMetricsServer } from '../metrics/metrics-server.js'
import { RelayMetrics } from '../metrics/relay-metrics.js'
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded-redis.js'
import { EventProducer } from '../store/event-producer.js'
import { Cluster } from 'ioredis'
import { EnqueueError } from '../errors.js'
import { createRedis, describeEndpoint, type RedisEndpoint } from '../redis/redis-connection.js'
import { RedisDataWatch } from '../redis/redis-data-watch.js'
import { durabilityWarnings, probeRedis } from '../redis/redis-probe.js'
import { RelayQueues } from '../retry/relay-queues.js'
import { DestinationClient } from '../relay/destination-client.js'
import { RelayWorkers } from '../relay/relay-workers.js'
import { HistoryRecorder } from '../store/history-recorder.js'
import { HistorySweeper } from '../store/history-sweeper.js'
import { StreamRelay } from '../relay/stream-relay.js'
import { DestinationGates } from '../relay/destination-gate.js'
import { readDestinationStates } from '../relay/destination-state.js'
import { DeliveryAttempts } from '../relay/delivery-attempt.js'
import { LastDeliveryRecorder } from '../relay/last-delivery.js'
import { CleanupIntake } from '../deauthorization/cleanup-intake.js'
import { retryHorizonMs } from '../retry/retry-policy.js'
import { CleanupWorkers } from '../deauthorization/cleanup-workers.js'
import { OAuthStateSigner } from '../oauth/oauth-state.js'
import { UsedOAuthStates } from '../oauth/used-states.js'
import { ProviderApis } from '../providers/provider-apis.js'
import { validationKey } from '../store/stream-keys.js'
import { UrlValidationRecorder } from '../store/url-validations.js'
import { OutageLog } from '../redis/outage-log.js'
import { buildAdminServer } from '../admin/admin-server.js'
import type { RelayTracing } from '../tracing/relay-tracing.js'

/** Time a readiness probe waits for Redis. */
const PROBE_TIMEOUT_MS = 1000
/** How long a closing connection may wait for QUIT before it is dropped. */
const QUIT_TIMEOUT_MS = 2000
/** How often every process checks that Redis still has its data. */
const DATA_WATCH_INTERVAL_MS = 5000

export interface RunningRelay {
  /** `http://host:port` of the webhook server (web and all roles). */
  webUrl: string | undefined
  metricsUrl: string
  /** The admin API and queue UI, when ADMIN_TOKEN is set and this role serves HTTP. */
  adminUrl: string | undefined
  /** Where Redis is, for logs and tests (password hidden). */
  redisUrl: string
  metrics: RelayMetrics
  /** Graceful stop: no new requests or jobs, in-flight work finished (bounded), connections closed. */
  close: () => Promise<void>
}

/** Starts the parts of the relay that `role` runs, all sharing one Redis. */
export async function runRelay (role: Role, config: Config, logger: Logger): Promise<RunningRelay> {
  const runsWeb = role !== 'worker'
  const runsWorkers = role !== 'web'
  let embedded: EmbeddedRedis | undefined
  if (config.redis.kind === 'embedded') embedded = await startEmbeddedRedis(config.redis.dataDir, msg => logger.info(msg))
  const endpoint: RedisEndpoint = config.redis.kind === 'embedded' ? { kind: 'url', url: (embedded as EmbeddedRedis).url } : config.redis
  const redisUrl = describeEndpoint(endpoint)

  const metrics = new RelayMetrics()
  // Loaded only when on: with tracing off, no OpenTelemetry module is ever imported.
  const tracing: RelayTracing | undefined = config.tracing === undefined
    ? undefined
    : (await import('../tracing/relay-tracing.js')).startRelayTracing(config.tracing, role, logger)
  let closing: Promise<void> | undefined
  const connections: RedisClient[] = []
  const connect = (use: Parameters<typeof createRedis>[1]): RedisClient => {
    const redis = createRedis(endpoint, use)
    // ioredis reconnects by itself; log each outage when it starts and ends, not every retry.
    // A dropped connection emits only 'close'; a refused reconnect emits 'error'.
    const outage = new OutageLog({ logger, labels: { use }, lost: 'Redis connection lost; reconnecting', restored: 'Redis connection restored' })
    const lost = (err?: Error): void => { if (closing === undefined) outage.failed(err) }
    redis.on('error', lost)
    redis.on('close', () => { lost() })
    redis.on('ready', () => { outage.recovered() })
    connections.push(redis)
    return redis
  }

  const probe = connect('probe')
  const producerConnection = runsWeb ? connect('producer') : probe
  // Dead letters, status and queue depth: reads and operator actions, failing fast.
  const queues = new RelayQueues(config, probe)
  const apis: ProviderApis[] = []
  metrics.queueDepthReader = queues.depth
  metrics.validationReader = async () => Object.fromEntries(Object.entries(await probe.hgetall(validationKey(config.redisPrefix))).map(([app, ms]) => [app, Number(ms)]))
  void warnAboutDurability(probe, logger)

  let workers: RelayWorkers | undefined
  let streams: StreamRelay | undefined
  let intake: CleanupIntake | undefined
  let cleanups: CleanupWorkers | undefined
  let client: DestinationClient | undefined
  let lastDelivery: LastDeliveryRecorder | undefined
  let workerQueues: RelayQueues | undefined
  let gates: DestinationGates | undefined
  let sweeper: HistorySweeper | undefined
  metrics.destinationStateReader = async () => await readDestinationStates(probe, config)
  if (runsWorkers) {
    client = new DestinationClient({ timeoutMs: config.deliveryTimeoutMs, retryAfterMaxMs: config.retry.retryAfterMaxMs })
    const workerConnection = connect('worker')
    // Hand-overs to the retry queues wait for Redis instead of failing: the stream entry is acknowledged only after.
    workerQueues = new RelayQueues(config, workerConnection)
    lastDelivery = new LastDeliveryRecorder(workerConnection, config.redisPrefix)
    const attempts = new DeliveryAttempts({ client, metrics, logger, tracing })
    gates = new DestinationGates({ config, redis: workerConnection, logger })
    // A destination paused before this process started stays paused from its first read on.
    await Promise.race([gates.poll(), sleep(2000, undefined, { ref: false })])
    const history = new HistoryRecorder({ redis: workerConnection, prefix: config.redisPrefix, retention: config.history })
    streams = new StreamRelay({ config, connection: workerConnection, retryQueues: workerQueues, attempts, gates, history, lastDelivery, logger })
    streams.start()
    workers = new RelayWorkers({ config, connection: workerConnection, attempts, gates, history, lastDelivery, logger })
    // Retention 0: an event is removed as it settles, nothing to sweep.
    if (config.history.retentionSeconds > 0) {
      sweeper = new HistorySweeper({ config, redis: workerConnection, logger })
      sweeper.start()
    }
    if (config.apps.some(a => a.deauthorization !== undefined)) {
      intake = new CleanupIntake({ config, connection: workerConnection, queues: workerQueues, logger })
      intake.start()
      // BullMQ retries clean-ups on the delivery schedule; the client itself does not.
      const cleanupApis = new ProviderApis({ timeoutMs: config.providerApiTimeoutMs, retries: 0 })
      apis.push(cleanupApis)
      cleanups = new CleanupWorkers({ config, connection: workerConnection, apis: cleanupApis, metrics, logger })
    }
    logger.info({ destinations: config.apps.flatMap(a => a.destinations.map(d => `${a.name}/${d.name}`)), retryHorizonHours: Math.round(retryHorizonMs(config.retry) / 360_000) / 10 }, 'relay workers started')
  }

  const dataWatch = new RedisDataWatch(probe, {
    prefix: config.redisPrefix,
    onLoss: () => {
      metrics.redisDataLosses.inc()
      logger.error('Redis has lost its data (restarted without its AOF, flushed, or failed over to an empty replica): events stored before now and not yet delivered are gone. New events are stored as usual. Check the Redis persistence settings.')
    }
  })
  void dataWatch.check()
  const dataWatchTimer = setInterval(() => { void dataWatch.check() }, DATA_WATCH_INTERVAL_MS).unref()

  const checkReadiness = async (): Promise<ReadinessReport> => {
    const checks: Record<string, string> = { redis: await probeRedis(probe, PROBE_TIMEOUT_MS) }
    // Webhooks are stored through their own connection: ready only once that one is back too (each reconnects on its own).
    if (checks.redis === 'ok' && producerConnection.status !== 'ready') checks.redis = `the webhook connection to Redis is ${producerConnection.status}`
    if (workers !== undefined) {
      const running = [workers, streams, intake, cleanups].every(part => part?.isRunning() ?? true)
      checks.workers = running ? 'ok' : 'not running'
    }
    if (checks.redis === 'ok') await dataWatch.check()
    const report: ReadinessReport = { ready: Object.values(checks).every(c => c === 'ok'), checks }
    const loss = dataWatch.loss
    if (loss !== undefined) report.warnings = { redisData: `Redis lost its data; noticed at ${new Date(loss.noticedAt).toISOString()}` }
    return report
  }
  metrics.readinessReader = async () => (await checkReadiness()).ready

  const servers: FastifyInstance[] = []
  let validations: UrlValidationRecorder | undefined
  let webUrl: string | undefined
  if (runsWeb) {
    let oauth: WebAppOptions['oauth']
    if (config.apps.some(a => a.oauth !== undefined)) {
      const oauthApis = new ProviderApis({ timeoutMs: config.providerApiTimeoutMs, retries: config.providerApiRetries })
      apis.push(oauthApis)
      oauth = {
        signer: new OAuthStateSigner({ apps: config.apps, secret: config.oauthStateSecret, ttlSeconds: config.oauthStateTtlSeconds }),
        used: new UsedOAuthStates(producerConnection, { prefix: config.redisPrefix }),
        apis: oauthApis
      }
    }
    // With REDIS_MIN_REPLICAS, Zoom gets its 200 only once that many replicas have the event: a Sentinel
    // failover then cannot lose it. WAIT covers this connection's writes, which are the enqueues.
    const replicated = config.redisMinReplicas === 0 || producerConnection instanceof Cluster
      ? undefined
      : async (): Promise<void> => {
        const replicas = await producerConnection.wait(config.redisMinReplicas, config.enqueueTimeoutMs)
        if (replicas < config.redisMinReplicas) throw new EnqueueError(`Only ${replicas} of ${config.redisMinReplicas} Redis replicas confirmed the event.`)
      }
    if (config.dedupWindowSeconds === 0) {
      logger.warn({ signatureToleranceSeconds: config.signatureToleranceSeconds }, 'DEDUP_WINDOW_SECONDS=0: de-duplication is off, so a captured webhook replayed within SIGNATURE_TOLERANCE_SECONDS is relayed again')
    }
    const producer = new EventProducer(producerConnection, { apps: config.apps, prefix: config.redisPrefix, timeoutMs: config.enqueueTimeoutMs, dedupWindowSeconds: config.dedupWindowSeconds, keepSettled: config.history.retentionSeconds > 0, compressBodies: config.history.compressBodies, replicated, onRound: metrics.observeIngestRound })
    // For `zoom-relay status` across processes; waits for the connection (the metric has it at once).
    validations = new UrlValidationRecorder({ redis: producerConnection, prefix: config.redisPrefix, logger })
    const onUrlValidation = validations.record.bind(validations)
    const web = buildWebApp({ config, producer, metrics, checkReadiness, logger, oauth, onUrlValidation, tracing })
    servers.push(web)
    // Fastify logs one line per address it listens on (every interface's for 0.0.0.0): the text is ours.
    webUrl = await web.listen({ host: config.host, port: config.port, listenTextResolver: address => `webhook server listening at ${address}` })
  }
  let adminUrl: string | undefined
  if (runsWeb && config.admin !== undefined) {
    const admin = await buildAdminServer({ config, adminToken: config.admin.token, queues, redis: probe, logger })
    servers.push(admin)
    adminUrl = await admin.listen({ host: config.admin.host, port: config.admin.port, listenTextResolver: address => `admin API and queue UI listening at ${address} (Bearer ADMIN_TOKEN required)` })
  }
  const metricsServer = buildMetricsServer(metrics, checkReadiness, logger)
  servers.push(metricsServer)
  const metricsUrl = await metricsServer.listen({ host: config.metricsHost, port: config.metricsPort, listenTextResolver: address => `metrics and health checks listening at ${address}` })
  logger.info({ role, redis: redisUrl, webhooks: webUrl === undefined ? undefined : config.apps.map(a => `${webUrl}${a.path}`), metrics: `${metricsUrl}/metrics` }, 'zoom-webhook-relay running')

  const close = async (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(dataWatchTimer)
      // One SHUTDOWN_TIMEOUT_MS for all in-flight work, whatever Redis does; what follows is bounded too.
      const deadline = Date.now() + config.shutdownTimeoutMs
      const remaining = (): number => Math.max(0, deadline - Date.now())
      // Ingress first: requests in flight still get their answer (and their enqueue).
      for (const server of servers) await server.close()
      await validations?.close()
      // First attempts first: what they hand over to the retry queues is then taken up by their workers' close.
      await Promise.all([streams?.close(remaining()), intake?.close(remaining())])
      await Promise.all([workers?.close(remaining()), cleanups?.close(remaining()), within(sweeper?.close() ?? Promise.resolve(), remaining())])
      // Each bounded: with Redis away, a queue's close (or a request still in flight) could wait forever.
      await within(Promise.all([gates?.close(), lastDelivery?.close(), client?.close(), ...apis.map(async a => await a.close()), queues.close(), workerQueues?.close()]), QUIT_TIMEOUT_MS)
      // QUIT waits for Redis; a connection still reconnecting (Redis gone, a failover) would wait forever.
      await Promise.all(connections.map(async c => {
        // Nothing to say goodbye to while Redis is away.
        if (c.status === 'ready') await Promise.race([c.quit().catch(() => {}), sleep(QUIT_TIMEOUT_MS, undefined, { ref: false })])
        c.disconnect()
      }))
      await embedded?.stop()
      // Last: every span has ended by now.
      await tracing?.shutdown()
    })()
    return await closing
  }
  return { webUrl, metricsUrl, adminUrl, redisUrl, metrics, close }
}

/** Waits for `work` at most `ms` (without keeping the process alive); a failure is as good as done at shutdown. */
async function within (work: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([work.catch(() => {}), sleep(ms, undefined, { ref: false })])
}

async function warnAboutDurability (redis: RedisClient, logger: Logger): Promise<void> {
  try {
    if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(10_000) })
    for (const warning of await durabilityWarnings(redis)) logger.warn(`DATA LOSS RISK: ${warning}`)
  } catch (err) {
    logger.warn({ message: (err as Error).message }, 'could not read the Redis eviction and AOF settings (CONFIG GET refused?); make sure maxmemory-policy is noeviction and AOF is on')
  }
}
