/**
 * The bull-board actions the queue UI may take, by route (as registered under
 * the UI's prefix). Everything else that is not a read is refused: `clean`,
 * `empty`, `obliterate`, `add`, editing a job's data, delay or priority,
 * concurrency and rate-limit settings, job schedulers. Those would delete
 * events that were acknowledged to Zoom, or make the relay send bytes Zoom
 * never signed. @bull-board/api 9.10.1 has no per-action switch (its
 * `readOnlyMode` takes retries away too), hence this allow-list.
 */
const ALLOWED: ReadonlySet<string> = new Set([
  'PUT /api/queues/:queueName/retry/:queueStatus',
  'PUT /api/queues/:queueName/:jobId/retry',
  'PUT /api/queues/:queueName/promote',
  'PUT /api/queues/:queueName/:jobId/promote',
  // Pausing stops a queue's retries without losing anything; resuming starts them again.
  'PUT /api/queues/pause',
  'PUT /api/queues/resume',
  'PUT /api/queues/:queueName/pause',
  'PUT /api/queues/:queueName/resume'
])

const READS = new Set(['GET', 'HEAD'])

/** Whether `method` on the route `routeUrl` (relative to the UI's prefix) is allowed. */
export function isAllowedQueueUiAction (method: string, routeUrl: string): boolean {
  return READS.has(method) || ALLOWED.has(`${method} ${routeUrl}`)
}
