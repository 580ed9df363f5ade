import type { RedisClient } from './redis-connection.js'
import { BODY_FIELD, META_FIELD } from './stored-event.js'
import { CONSUMER_GROUP } from './stream-keys.js'

/**
 * Stores a batch of one app's events in one round trip.
 * KEYS: the app's streams (one per destination, then its clean-up stream if
 * any), then, when de-duplication is on, the current and the previous
 * de-duplication set (dedup-window.ts).
 * ARGV: stream count, event count, the current set's expiry (epoch ms; 0 =
 * de-duplication off), then per event: a mask with a character per stream
 * (MASK_*), the body, the metadata (stored-event.ts) and the de-duplication id.
 * Returns one flag per event: 1 stored, 0 a duplicate (nothing written).
 *
 * The marks of the whole batch are read with two SMISMEMBER and written with
 * one SADD: per event the script calls Redis only to append it, which halves
 * what a mark per key (SET NX PX) cost. A stream is created together with its
 * consumer group, so an entry can never be appended to a stream no group
 * reads (after a wipe, say).
 */
const INGEST = `
local streams = tonumber(ARGV[1])
local events = tonumber(ARGV[2])
local expireAt = tonumber(ARGV[3])
local seen = {}
local added = {}
if expireAt > 0 then
  local ids = {}
  for i = 1, events do ids[i] = ARGV[3 + i * 4] end
  local current = redis.call('SMISMEMBER', KEYS[streams + 1], unpack(ids))
  local previous = redis.call('SMISMEMBER', KEYS[streams + 2], unpack(ids))
  for i = 1, events do
    if current[i] == 1 or previous[i] == 1 then seen[ids[i]] = true end
  end
end
local results = {}
local ready = {}
for i = 1, events do
  local a = i * 4
  local stored = 1
  if expireAt > 0 then
    local id = ARGV[a + 3]
    if seen[id] then
      stored = 0
    else
      seen[id] = true
      added[#added + 1] = id
    end
  end
  if stored == 1 then
    local mask = ARGV[a]
    for s = 1, streams do
      local target = string.byte(mask, s)
      if target ~= 48 then
        local key = KEYS[s]
        if not ready[s] then
          if redis.call('EXISTS', key) == 0 then redis.call('XGROUP', 'CREATE', key, '${CONSUMER_GROUP}', '0', 'MKSTREAM') end
          ready[s] = true
        end
        if target == 49 then
          redis.call('XADD', key, '*', '${BODY_FIELD}', ARGV[a + 1], '${META_FIELD}', ARGV[a + 2])
        else
          redis.call('XADD', key, '*', '${BODY_FIELD}', ARGV[a + 1])
        end
      end
    end
  end
  results[i] = stored
end
if #added > 0 then
  redis.call('SADD', KEYS[streams + 1], unpack(added))
  redis.call('PEXPIREAT', KEYS[streams + 1], expireAt)
end
return results
`

/** Acknowledges entries and deletes them in one step: a delivered event leaves nothing behind. KEYS: the stream; ARGV: ids. */
const ACK = `
redis.call('XACK', KEYS[1], '${CONSUMER_GROUP}', unpack(ARGV))
return redis.call('XDEL', KEYS[1], unpack(ARGV))
`

/** Where an event goes, per stream of its app: not there, a delivery (body and metadata), or a clean-up record (body only). */
export const MASK_SKIP = '0'
export const MASK_EVENT = '1'
export const MASK_CLEANUP = '2'

/** The relay's Lua scripts on a connection (ioredis sends EVALSHA and loads a script Redis does not know). */
export interface RelayScripts {
  zrIngest: (numKeys: number, ...args: Array<string | Buffer | number>) => Promise<number[]>
  zrAck: (key: string, ...ids: string[]) => Promise<number>
}

/** Defines the scripts on `redis` once and returns it typed with them. */
export function withRelayScripts (redis: RedisClient): RedisClient & RelayScripts {
  const scripted = redis as RedisClient & Partial<RelayScripts>
  if (scripted.zrIngest === undefined) {
    redis.defineCommand('zrIngest', { lua: INGEST })
    redis.defineCommand('zrAck', { lua: ACK, numberOfKeys: 1 })
  }
  return scripted as RedisClient & RelayScripts
}
