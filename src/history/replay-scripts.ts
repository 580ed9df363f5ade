import type { RedisClient } from '../redis/redis-connection.js'
import { RECORD_BODY, RECORD_UNSETTLED } from '../store/history-keys.js'

/**
 * Marks a replay in an event's record (KEYS[1]), for one destination
 * (ARGV[1], its `d:` field): state `pending`, `r` + 1, the dead-letter reason
 * cleared, and `#` + 1 when the destination had settled the event (or never
 * had it: a backfill), since it now waits again.
 * Returns false when the body is gone (nothing changed), else
 * `{ replays, written record, previous record or '', 1 if '#' was raised }`.
 * The BullMQ job is added after it, from the caller: the retry queue's keys
 * carry another Cluster hash tag (`{<app>.<destination>}`), so no one script
 * can write both; a job whose record is already marked can never be left
 * behind, and a mark without its job is undone (UNDO_REPLAY_MARK).
 */
const MARK_REPLAY = `
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return false end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local record = { n = 0 }
if raw then record = cjson.decode(raw) end
local settled = (not raw) or record.s == 'delivered' or record.s == 'dead' or record.s == 'filtered'
record.s = 'pending'
record.r = (tonumber(record.r) or 0) + 1
record.x = nil
local written = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[1], written)
if settled then redis.call('HINCRBY', KEYS[1], ARGV[3], 1) end
return { record.r, written, raw or '', settled and 1 or 0 }
`

/** Puts back what MARK_REPLAY changed (ARGV: field, what it wrote, what was there, whether it raised `#`), unless the record moved on since. */
const UNDO_REPLAY_MARK = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], ARGV[5], -1) end
return 1
`

/** What MARK_REPLAY did, to undo it. */
export interface ReplayMark { replays: number, written: string, previous: string, raisedUnsettled: boolean }

interface ReplayScripts {
  zrMarkReplay: (key: string, field: string, body: string, unsettled: string) => Promise<[number, string, string, number] | null>
  zrUndoReplayMark: (key: string, field: string, written: string, previous: string, raised: string, unsettled: string) => Promise<number>
}

function withReplayScripts (redis: RedisClient): RedisClient & ReplayScripts {
  const scripted = redis as RedisClient & Partial<ReplayScripts>
  if (scripted.zrMarkReplay === undefined) {
    redis.defineCommand('zrMarkReplay', { lua: MARK_REPLAY, numberOfKeys: 1 })
    redis.defineCommand('zrUndoReplayMark', { lua: UNDO_REPLAY_MARK, numberOfKeys: 1 })
  }
  return scripted as RedisClient & ReplayScripts
}

/** Marks the replay of the record at `key` to the destination of `field`; undefined when the body is gone. */
export async function markReplay (redis: RedisClient, key: string, field: string): Promise<ReplayMark | undefined> {
  const reply = await withReplayScripts(redis).zrMarkReplay(key, field, RECORD_BODY, RECORD_UNSETTLED)
  if (reply === null) return undefined
  const [replays, written, previous, raised] = reply
  return { replays: Number(replays), written, previous, raisedUnsettled: Number(raised) === 1 }
}

/** Undoes `mark` (its job could not be added), unless the record changed since. */
export async function undoReplayMark (redis: RedisClient, key: string, field: string, mark: ReplayMark): Promise<void> {
  await withReplayScripts(redis).zrUndoReplayMark(key, field, mark.written, mark.previous, mark.raisedUnsettled ? '1' : '0', RECORD_UNSETTLED)
}
