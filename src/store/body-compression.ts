import { inflateRawSync } from 'node:zlib'
import { IntegrityError } from '../errors.js'
import { DictionaryDeflater } from './dictionary-deflater.js'

/**
 * Zoom's webhook vocabulary: the field names, event names and common values
 * of its payloads (meeting, participant, recording, app and validation
 * events). Deflate finds them here before the body has said them once, so a
 * 1 KB event shrinks to about a third instead of two thirds. Values of
 * particular meetings, accounts or users are not in it.
 *
 * Never change it: stored bodies are read back with the dictionary they were
 * written with (`BODY_CODEC_DEFLATE_V1`). A better one gets a new codec number.
 */
const VOCABULARY_V1 = [
  '"event":"endpoint.url_validation","plainToken":"encryptedToken"',
  '"event":"app_deauthorized","payload":{"account_id":"","user_id":"","signature":"","deauthorization_time":"","client_id":""}',
  '"event":"recording.completed","recording.started","recording.stopped","recording.transcript_completed","meeting.summary_completed"',
  '"recording_files":[{"id":"","meeting_id":"","recording_start":"","recording_end":"","file_type":"MP4","file_extension":"MP4","file_size":,"play_url":"https://zoom.us/rec/play/","download_url":"https://zoom.us/rec/download/","status":"completed","recording_type":"shared_screen_with_speaker_view"},"audio_only","active_speaker","audio_transcript","chat_file","TRANSCRIPT","TIMELINE","M4A","VTT","JSON"]',
  '"share_url":"https://zoom.us/rec/share/","total_size":,"recording_count":,"recording_play_passcode":"","download_token":"',
  '"event":"meeting.participant_left","meeting.participant_joined","meeting.participant_admitted","meeting.participant_put_in_waiting_room"',
  '"participant":{"user_id":"","user_name":"","participant_user_id":"","participant_uuid":"","id":"","email":"","join_time":"","leave_time":"","leave_reason":"","registrant_id":"","customer_key":"","phone_number":"","public_ip":""}',
  '"settings":{"host_video":false,"participant_video":true,"join_before_host":true,"jbh_time":0,"mute_upon_entry":false,"watermark":true,"use_pmi":true,"audio":"voip","audio":"telephony","alternative_hosts":"","waiting_room":false,"auto_recording":"none","auto_recording":"local","meeting_authentication":true,"encryption_type":"enhanced_encryption","approval_type":0,"continuous_meeting_chat":{"enable":false,"auto_add_invited_external_users":true},"registration_type":1}',
  '"event":"meeting.created","meeting.updated","meeting.deleted","meeting.started","meeting.ended","event_ts":,"payload":{"account_id":"","operator":"","operator_id":"","operation":"single","object":{"uuid":"","id":,"host_id":"","host_email":"","topic":"","type":2,"start_time":"","duration":60,"timezone":"America/Los_Angeles","created_at":"","join_url":"https://us02web.zoom.us/j/?pwd=","password":"","agenda":"","pre_schedule":false}}}'
].join('')

const DICTIONARY_V1 = Buffer.from(VOCABULARY_V1)

/** How a stored body is encoded: deflate (raw) with the vocabulary above. Stored in the event's metadata (`z`). */
export const BODY_CODEC_DEFLATE_V1 = 1

/** Smaller bodies gain too little to be worth the work. */
const MIN_BYTES = 256
/**
 * Larger bodies are stored as they came: compressing runs on the ack path,
 * and this bounds what it costs there (a fraction of a millisecond). Zoom's
 * events are a few KB; the rare big one costs memory, not latency.
 */
export const MAX_COMPRESSED_BODY_BYTES = 32 * 1024

/**
 * The encoder behind `compressBody`: the dictionary hashed once for the
 * process (dictionary-deflater.ts). Its output is standard raw deflate, read
 * back by zlib below like any other. Made at the first body, so that
 * processes that never store one (workers, CLI commands) do not hold its
 * tables (~0.4 MB).
 */
let deflater: DictionaryDeflater | undefined

/** `body` deflated, or undefined when it is out of range or would not shrink. */
export function compressBody (body: Buffer): Buffer | undefined {
  if (body.length < MIN_BYTES || body.length > MAX_COMPRESSED_BODY_BYTES) return undefined
  deflater ??= new DictionaryDeflater(DICTIONARY_V1, MAX_COMPRESSED_BODY_BYTES)
  const deflated = deflater.deflate(body)
  return deflated.length < body.length ? deflated : undefined
}

/** The body as Zoom sent it, from what was stored with `codec`; `IntegrityError` when it cannot be. */
export function decompressBody (stored: Buffer, codec: number, id: string): Buffer {
  if (codec !== BODY_CODEC_DEFLATE_V1) throw new IntegrityError(`event ${id} has a body stored with an unknown encoding (${codec})`)
  try {
    // What was compressed was never larger than this: a damaged value cannot blow up.
    return inflateRawSync(stored, { dictionary: DICTIONARY_V1, maxOutputLength: MAX_COMPRESSED_BODY_BYTES })
  } catch (err) {
    throw new IntegrityError(`event ${id} has a body that cannot be decompressed (${(err as Error).message})`)
  }
}
