import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { sha256 } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

export interface SenderStats {
  /** SHA-256 of every body that got a 2xx. */
  acked: Set<string>
  /** Answers other than 2xx, and requests that got no answer at all. */
  refused: Map<string, number>
  /** Latency of each 2xx, ms. */
  ackMs: number[]
  /** Latency of each 503, ms (the "answer fast so Zoom retries" promise). */
  refusedMs: number[]
  /** Bodies given up on at the deadline (never acked: not lost, Zoom would have stopped too). */
  abandoned: number
}

/**
 * Plays Zoom: sends signed, distinct events at a given concurrency and
 * re-sends any event that got no 2xx (a fresh timestamp and signature over
 * the same bytes, after a short pause: Zoom's 5/20/60-minute retries, compressed).
 */
export class ZoomSender {
  readonly stats: SenderStats = { acked: new Set(), refused: new Map(), ackMs: [], refusedMs: [], abandoned: 0 }
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 2000, connect: { timeout: 1000 } })
  private readonly run = randomUUID().slice(0, 8)

  /** `targets()` is asked before each request: the webhook URLs of the web processes alive right now. */
  constructor (private readonly secret: string, private readonly targets: () => string[]) {}

  /**
   * Sends `count` events (numbered from `first`), at most `concurrency` at a
   * time, spread evenly over `durationMs` so faults land mid-traffic; stops
   * re-sending at `deadline`.
   */
  async send (count: number, opts: { concurrency: number, durationMs?: number, first?: number, deadline?: number, pauseMs?: number }): Promise<void> {
    let next = 0
    const first = opts.first ?? 0
    const started = Date.now()
    const deadline = opts.deadline ?? started + 120_000
    const interval = (opts.durationMs ?? 0) / count
    await Promise.all(Array.from({ length: opts.concurrency }, async () => {
      while (next < count) {
        const n = next++
        const due = started + n * interval
        if (due > Date.now()) await sleep(due - Date.now())
        await this.deliver(meetingCreated(first + n, { chaos_run: this.run }), deadline, opts.pauseMs ?? 100)
      }
    }))
  }

  private async deliver (body: string, deadline: number, pauseMs: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const targets = this.targets()
      const target = targets[attempt % Math.max(1, targets.length)]
      const started = performance.now()
      let outcome: string
      if (target === undefined) {
        outcome = 'no-target'
      } else {
        try {
          const res = await request(target, { method: 'POST', headers: zoomHeaders(this.secret, body), body, dispatcher: this.agent, headersTimeout: 5000, bodyTimeout: 5000 })
          await res.body.dump()
          const ms = performance.now() - started
          if (res.statusCode >= 200 && res.statusCode < 300) {
            this.stats.acked.add(sha256(body))
            this.stats.ackMs.push(ms)
            return
          }
          if (res.statusCode === 503) this.stats.refusedMs.push(ms)
          outcome = String(res.statusCode)
        } catch (err) {
          outcome = (err as { code?: string }).code ?? 'error'
        }
      }
      this.stats.refused.set(outcome, (this.stats.refused.get(outcome) ?? 0) + 1)
      if (Date.now() > deadline) { this.stats.abandoned++; return }
      await sleep(pauseMs)
    }
  }

  async close (): Promise<void> {
    await this.agent.close()
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}
