import type { RedisClient } from '../redis/redis-connection.js'
import { defineScripts } from './redis-scripts.js'
import { CONSUMER_GROUP } from './stream-keys.js'
import { attemptsField, deliveryField, RECORD_BODY, RECORD_META, RECORD_UNSETTLED } from './history-keys.js'

/**
 * Lua shared by the scripts that record an outcome: `apply` writes one
 * destination's outcome into an event's record (history-keys.ts,
 * delivery-record.ts) and returns 1, or 0 when there is no record (removed,
 * or stored before the history existed: nothing is created then).
 *
 * `update` is DeliveryOutcome's JSON (`s` state, `x` reason, `e` message of
 * an outcome without an attempt), `attempt` an AttemptRecord's JSON or ''.
 * An attempt older than the last one recorded (a late acknowledgement of a
 * first attempt whose retry already ran) only goes into the log and the
 * count. A change between unsettled and settled (delivered, dead) moves the
 * count of unsettled destinations; when it reaches 0, an event older than the
 * retention (`keepMs`; 0 keeps nothing settled) is removed with its index
 * entry, and one older than `bodyKeepMs` loses its body: what a sweep passed
 * while it was unsettled is done at once.
 */
const APPLY = `
local function apply(prefix, history, dest, id, update, attempt, now, keepMs, bodyKeepMs, maxLog)
  local key = prefix .. id
  local field = '${deliveryField('')}' .. dest
  local current = redis.call('HGET', key, field)
  if not current then return 0 end
  local d = cjson.decode(current)
  local u = cjson.decode(update)
  -- The one attempt of a delivery that needed one, which the record holds instead of a log (see below).
  local only = nil
  if tonumber(d.n) == 1 and d.t ~= nil and d.f ~= nil then only = { at = d.f, c = d.c, ms = d.t - d.f } end
  local was = d.s == 'delivered' or d.s == 'dead' or d.s == 'filtered'
  local a = nil
  if attempt ~= '' then a = cjson.decode(attempt) end
  -- An attempt older than the last one recorded (an acknowledgement that came late) is logged, and changes nothing else.
  local stale = a ~= nil and d.l ~= nil and a.at < d.l
  if not stale then
    d.s = u.s
    d.x = u.x
    if a ~= nil then
      d.c = a.c
      d.e = a.e
      if d.f == nil then d.f = a.at end
      d.l = a.at
      if u.s == 'delivered' then d.t = a.at + a.ms end
    elseif u.e then
      d.e = u.e
    end
  end
  if a ~= nil then
    d.n = (tonumber(d.n) or 0) + 1
    local logField = '${attemptsField('')}' .. dest
    local log = redis.call('HGET', key, logField)
    if not log and only ~= nil then
      -- The first attempt delivered it and kept no log: write that attempt first.
      log = '[' .. cjson.encode(only) .. ']'
    end
    if not log and d.n == 1 and d.s == 'delivered' and not stale and a.e == nil and a.r == nil then
      -- Delivered at its first attempt, the usual case: the record's f, c and t say what a log would,
      -- so none is kept (a field less per destination and event).
      log = false
    elseif not log then
      log = '[' .. attempt .. ']'
    elseif d.n <= maxLog then
      log = string.sub(log, 1, -2) .. ',' .. attempt .. ']'
    else
      -- Full: the first attempt stays, the oldest of the others goes.
      local list = cjson.decode(log)
      while #list >= maxLog do table.remove(list, 2) end
      list[#list + 1] = a
      log = cjson.encode(list)
    end
    if log then redis.call('HSET', key, field, cjson.encode(d), logField, log)
    else redis.call('HSET', key, field, cjson.encode(d)) end
  else
    redis.call('HSET', key, field, cjson.encode(d))
  end
  local settled = d.s == 'delivered' or d.s == 'dead' or d.s == 'filtered'
  if settled ~= was then
    local left = redis.call('HINCRBY', key, '${RECORD_UNSETTLED}', settled and -1 or 1)
    if left <= 0 then
      local age = now - tonumber(string.match(id, '^(%d+)'))
      if keepMs == 0 or age >= keepMs then
        redis.call('DEL', key)
        redis.call('XDEL', history, id)
      elseif age >= bodyKeepMs then
        redis.call('HDEL', key, '${RECORD_BODY}')
      end
    end
  end
  return 1
end
`

/**
 * Acknowledges and deletes handled entries of a destination's stream and
 * records their outcomes, in one step.
 * KEYS: the stream, the app's history index.
 * ARGV: record key prefix, destination, now, keepMs, bodyKeepMs, max logged
 * attempts, the number of entry ids, the ids, then per outcome: event id,
 * update, attempt (see APPLY).
 */
const SETTLE = `${APPLY}
local count = tonumber(ARGV[7])
local ids = {}
for i = 1, count do ids[i] = ARGV[7 + i] end
if count > 0 then
  redis.call('XACK', KEYS[1], '${CONSUMER_GROUP}', unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
local now, keepMs, bodyKeepMs, maxLog = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 8 + count, #ARGV, 3 do
  apply(ARGV[1], KEYS[2], ARGV[2], ARGV[i], ARGV[i + 1], ARGV[i + 2], now, keepMs, bodyKeepMs, maxLog)
end
return count
`

/**
 * Records one outcome (a retry's attempt, a dead letter of the retry lane).
 * KEYS: the app's history index. ARGV: record key prefix, destination, now,
 * keepMs, bodyKeepMs, max logged attempts, event id, update, attempt.
 */
const RECORD = `${APPLY}
return apply(ARGV[1], KEYS[1], ARGV[2], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
`

/**
 * Loads the body and metadata of events, in one step.
 * KEYS: the app's history index, only so that Redis Cluster routes the call
 * to the app's slot (the records named from ARGV carry its hash tag).
 * ARGV: record key prefix, event ids. Returns per event `[body, meta]`, each null when absent.
 */
const LOAD = `
local out = {}
for i = 2, #ARGV do
  out[i - 1] = redis.call('HMGET', ARGV[1] .. ARGV[i], '${RECORD_BODY}', '${RECORD_META}')
end
return out
`

/**
 * One bounded pass of the history sweep.
 * KEYS: the history index, the sweep cursor, the body-sweep cursor.
 * ARGV: record key prefix, now, keepMs, max events, bodyKeepMs, batch, rescanMs.
 *
 * Removes, oldest first, settled events (`#` 0, or no record) older than
 * keepMs or beyond the max count; an unsettled one is never removed. The
 * sweep goes on from its cursor, so an unsettled head is read once per
 * rescanMs (the cursor's lifetime), not on every pass: what settles behind
 * the cursor is removed by APPLY if it is old by then, or at the next
 * rescan. Then, when bodies are kept for less, removes the bodies of settled
 * events older than bodyKeepMs (what settles later loses it in APPLY).
 * Returns { removed, bodies removed, 1 when a batch was full (call again) }.
 */
const SWEEP = `
local history, prefix = KEYS[1], ARGV[1]
local now, keepMs, maxEvents = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local bodyKeepMs, batch, rescanMs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local function settled(key)
  local left = redis.call('HGET', key, '${RECORD_UNSETTLED}')
  return (not left) or tonumber(left) <= 0
end
local function time(id) return tonumber(string.match(id, '^(%d+)')) end
local function from(cursor)
  local at = redis.call('GET', cursor)
  if at then return '(' .. at end
  return '-'
end
local removed, bodies, more = 0, 0, 0
local excess = redis.call('XLEN', history) - maxEvents
local entries = redis.call('XRANGE', history, from(KEYS[2]), '+', 'COUNT', batch)
local last = nil
local due = true
for _, entry in ipairs(entries) do
  local id = entry[1]
  if excess <= 0 and time(id) > now - keepMs then due = false break end
  local key = prefix .. id
  if settled(key) then
    redis.call('DEL', key)
    redis.call('XDEL', history, id)
    removed = removed + 1
    excess = excess - 1
  end
  last = id
end
if last then
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('SET', KEYS[2], last, 'KEEPTTL')
  else redis.call('SET', KEYS[2], last, 'PX', rescanMs) end
end
if due and #entries >= batch then more = 1 end
if bodyKeepMs < keepMs then
  local older = redis.call('XRANGE', history, from(KEYS[3]), '+', 'COUNT', batch)
  local reached = nil
  due = true
  for _, entry in ipairs(older) do
    local id = entry[1]
    if time(id) > now - bodyKeepMs then due = false break end
    local key = prefix .. id
    if redis.call('HEXISTS', key, '${RECORD_UNSETTLED}') == 1 and settled(key) then
      bodies = bodies + redis.call('HDEL', key, '${RECORD_BODY}')
    end
    reached = id
  end
  if reached then redis.call('SET', KEYS[3], reached) end
  if due and #older >= batch then more = 1 end
end
return { removed, bodies, more }
`

/** Gives the sweeper's lock back only to its holder. KEYS: the lock. ARGV: the holder's token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** The history's Lua scripts on a connection (ioredis sends EVALSHA and loads a script Redis does not know). */
export interface HistoryScripts {
  zrSettle: (stream: string, history: string, ...args: Array<string | number>) => Promise<number>
  zrRecord: (history: string, ...args: Array<string | number>) => Promise<number>
  /** ioredis defines the Buffer-replying variant of every script. */
  zrLoadBuffer: (history: string, ...args: string[]) => Promise<Array<[Buffer | null, Buffer | null]>>
  zrSweep: (history: string, cursor: string, bodyCursor: string, ...args: Array<string | number>) => Promise<[number, number, number]>
  zrSweepRelease: (lock: string, token: string) => Promise<number>
}

/** Defines the scripts on `redis` once and returns it typed with them. */
export function withHistoryScripts (redis: RedisClient): RedisClient & HistoryScripts {
  return defineScripts<HistoryScripts>(redis, {
    zrSettle: { lua: SETTLE, numberOfKeys: 2 },
    zrRecord: { lua: RECORD, numberOfKeys: 1 },
    zrLoad: { lua: LOAD, numberOfKeys: 1 },
    zrSweep: { lua: SWEEP, numberOfKeys: 3 },
    zrSweepRelease: { lua: RELEASE, numberOfKeys: 1 }
  })
}
