import type { RedisClient } from '../redis/redis-connection.js'
import { deliveryField, INDEX_FIELD, RECORD_BODY, RECORD_META, RECORD_UNSETTLED, REF_FIELD } from './history-keys.js'
import { BODY_FIELD } from './stored-event.js'
import { CONSUMER_GROUP } from './stream-keys.js'

/** A destination's DeliveryRecord as the ingest script writes it (delivery-record.ts). */
const PENDING_RECORD = JSON.stringify({ s: 'pending', n: 0 })
const FILTERED_RECORD = JSON.stringify({ s: 'filtered', n: 0 })

/**
 * Stores a batch of one app's events in one round trip.
 * KEYS: the app's destination streams (one per destination), its clean-up
 * stream if any, its history index (history-keys.ts), then, when
 * de-duplication is on, the current and the previous de-duplication set
 * (dedup-window.ts).
 * ARGV: destination count, 1 when there is a clean-up stream (else 0), event
 * count, the current set's expiry (epoch ms; 0 = de-duplication off), the
 * prefix of record keys (`…:event:`), 1 to keep an event no destination
 * takes (retention > 0; else 0), the destinations' names, then per event: a
 * mask with a character per stream (MASK_*), the body, the metadata
 * (stored-event.ts), the de-duplication id and the index entry (EventIndex JSON).
 * Returns per event: its id (the index entry's id) when a record was
 * written, 1 when only stored otherwise (a clean-up), 0 for a duplicate
 * (nothing written).
 *
 * An event is stored once: its record holds body, metadata, the count of
 * destinations still to settle it and each destination's delivery record;
 * the destinations' streams get only its id. The marks of the whole batch
 * are read with two SMISMEMBER and written with one SADD: per event the
 * script calls Redis only to write it, which halves what a mark per key
 * (SET NX PX) cost. A stream is created together with its consumer group, so
 * an entry can never be appended to a stream no group reads (after a wipe,
 * say). Record keys are made here from the id XADD returns: they carry the
 * app's hash tag, so they are in the slot of the declared keys.
 */
const INGEST = `
local dests = tonumber(ARGV[1])
local streams = dests + tonumber(ARGV[2])
local events = tonumber(ARGV[3])
local expireAt = tonumber(ARGV[4])
local recordPrefix = ARGV[5]
local keepSettled = ARGV[6] == '1'
local history = KEYS[streams + 1]
local head = 6 + dests
local seen = {}
local added = {}
if expireAt > 0 then
  local ids = {}
  for i = 1, events do ids[i] = ARGV[head + (i - 1) * 5 + 4] end
  local current = redis.call('SMISMEMBER', KEYS[streams + 2], unpack(ids))
  local previous = redis.call('SMISMEMBER', KEYS[streams + 3], unpack(ids))
  for i = 1, events do
    if current[i] == 1 or previous[i] == 1 then seen[ids[i]] = true end
  end
end
local results = {}
local ready = {}
for i = 1, events do
  local a = head + (i - 1) * 5
  local mask = ARGV[a + 1]
  local result = 1
  if expireAt > 0 then
    local id = ARGV[a + 4]
    if seen[id] then
      result = 0
    else
      seen[id] = true
      added[#added + 1] = id
    end
  end
  if result ~= 0 then
    local takers = 0
    local fields = {}
    for s = 1, dests do
      local takes = string.byte(mask, s) == 49
      if takes then takers = takers + 1 end
      fields[#fields + 1] = '${deliveryField('')}' .. ARGV[6 + s]
      fields[#fields + 1] = takes and '${PENDING_RECORD}' or '${FILTERED_RECORD}'
    end
    local id = false
    if takers > 0 or keepSettled then
      id = redis.call('XADD', history, '*', '${INDEX_FIELD}', ARGV[a + 5])
      redis.call('HSET', recordPrefix .. id, '${RECORD_BODY}', ARGV[a + 2], '${RECORD_META}', ARGV[a + 3], '${RECORD_UNSETTLED}', takers, unpack(fields))
      result = id
    end
    for s = 1, streams do
      local target = string.byte(mask, s)
      if target ~= 48 then
        local key = KEYS[s]
        if not ready[s] then
          if redis.call('EXISTS', key) == 0 then redis.call('XGROUP', 'CREATE', key, '${CONSUMER_GROUP}', '0', 'MKSTREAM') end
          ready[s] = true
        end
        if target == 49 then
          redis.call('XADD', key, '*', '${REF_FIELD}', id)
        else
          redis.call('XADD', key, '*', '${BODY_FIELD}', ARGV[a + 2])
        end
      end
    end
  end
  results[i] = result
end
if #added > 0 then
  redis.call('SADD', KEYS[streams + 2], unpack(added))
  redis.call('PEXPIREAT', KEYS[streams + 2], expireAt)
end
return results
`

/** Acknowledges entries and deletes them in one step: a delivered event leaves nothing behind. KEYS: the stream; ARGV: ids. */
const ACK = `
redis.call('XACK', KEYS[1], '${CONSUMER_GROUP}', unpack(ARGV))
return redis.call('XDEL', KEYS[1], unpack(ARGV))
`

/** Where an event goes, per stream of its app: not there, a delivery (a reference to its record), or a clean-up record (body only). */
export const MASK_SKIP = '0'
export const MASK_EVENT = '1'
export const MASK_CLEANUP = '2'

/** The relay's Lua scripts on a connection (ioredis sends EVALSHA and loads a script Redis does not know). */
export interface RelayScripts {
  zrIngest: (numKeys: number, ...args: Array<string | Buffer | number>) => Promise<Array<string | number>>
  zrAck: (key: string, ...ids: string[]) => Promise<number>
}

/** Lua scripts by command name: what `defineScripts` defines. */
export type ScriptDefinitions = Record<string, { lua: string, numberOfKeys?: number }>

/**
 * Defines `scripts` on `redis` once (the first name tells whether they are
 * there) and returns it typed with them: `S` names their signatures.
 */
export function defineScripts<S extends object> (redis: RedisClient, scripts: ScriptDefinitions): RedisClient & S {
  const [first] = Object.keys(scripts)
  if (first !== undefined && !(first in redis)) {
    for (const [name, definition] of Object.entries(scripts)) redis.defineCommand(name, definition)
  }
  return redis as RedisClient & S
}

/** Defines the scripts on `redis` once and returns it typed with them. */
export function withRelayScripts (redis: RedisClient): RedisClient & RelayScripts {
  return defineScripts<RelayScripts>(redis, { zrIngest: { lua: INGEST }, zrAck: { lua: ACK, numberOfKeys: 1 } })
}
