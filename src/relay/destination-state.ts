import type { Config } from '../config/config.js'
import type { RedisClient } from '../redis/redis-connection.js'
import { destinationStateKey } from '../store/stream-keys.js'

/** What a destination is doing, as `zoom_relay_destination_state` and `zoom-relay status` report it. */
export type DestinationState = 'closed' | 'open' | 'half_open' | 'paused'
export const DESTINATION_STATES: readonly DestinationState[] = ['closed', 'open', 'half_open', 'paused']

/** A destination's shared state hash (stream-keys.ts `destinationStateKey`), parsed. */
export interface SharedDestinationState {
  paused: boolean
  /** Epoch ms of the last pause and the resume after it; undefined when never. */
  pausedAt: number | undefined
  resumedAt: number | undefined
  circuit: 'closed' | 'open' | 'half_open'
  /** Consecutive failed attempts counted towards opening the circuit. */
  failures: number
  openedAt: number | undefined
  /** When the next probe is due (open circuit), and the interval that led there. */
  nextProbeAt: number | undefined
  probeIntervalMs: number | undefined
}

export function parseDestinationState (hash: Record<string, string>): SharedDestinationState {
  const num = (field: string): number | undefined => hash[field] === undefined ? undefined : Number(hash[field])
  const circuit = hash.circuit === 'open' || hash.circuit === 'half_open' ? hash.circuit : 'closed'
  return {
    paused: hash.paused === '1',
    pausedAt: num('pausedAt'),
    resumedAt: num('resumedAt'),
    circuit,
    failures: num('failures') ?? 0,
    openedAt: num('openedAt'),
    nextProbeAt: num('nextProbeAt'),
    probeIntervalMs: num('probeIntervalMs')
  }
}

/** The state reported: a pause wins over the circuit. */
export function effectiveState (state: SharedDestinationState): DestinationState {
  return state.paused ? 'paused' : state.circuit
}

/**
 * Time `[from, now]` spent paused, as far as the last pause tells: taken off
 * an event's age so a pause never expires an event.
 */
export function pausedOverlapMs (state: SharedDestinationState, from: number, now: number): number {
  if (state.pausedAt === undefined) return 0
  const end = state.paused || state.resumedAt === undefined || state.resumedAt < state.pausedAt ? now : state.resumedAt
  return Math.max(0, Math.min(end, now) - Math.max(state.pausedAt, from))
}

export interface DestinationStateRow extends SharedDestinationState {
  app: string
  destination: string
  state: DestinationState
}

/** Every configured destination's state, read from Redis in one round trip. */
export async function readDestinationStates (redis: RedisClient, config: Config): Promise<DestinationStateRow[]> {
  const targets = config.apps.flatMap(app => app.destinations.map(destination => ({ app, destination })))
  // One HGETALL per key, not a pipeline: keys of different apps live in different Cluster slots.
  const hashes = await Promise.all(targets.map(async ({ app, destination }) => await redis.hgetall(destinationStateKey(config.redisPrefix, app, destination))))
  return targets.map(({ app, destination }, i) => {
    const shared = parseDestinationState(hashes[i] ?? {})
    return { app: app.name, destination: destination.name, state: effectiveState(shared), ...shared }
  })
}
