import t from 'tap'
import { IntegrityError } from '../../src/errors.js'
import { BODY_CODEC_DEFLATE_V1, compressBody, decompressBody, MAX_COMPRESSED_BODY_BYTES } from '../../src/store/body-compression.js'
import { readEventRecord, storedMeta, type StoredEvent } from '../../src/store/stored-event.js'
import { pick, randomBytes, randomInt, seededRandom } from '../helpers/random.js'
import { sha256 } from '../helpers/sink.js'
import { meetingCreated } from '../helpers/zoom.js'

const event = (body: Buffer): StoredEvent => ({ body, headers: { 'content-type': 'application/json' }, signatureSha256: 'A'.repeat(43), event: 'meeting.created' })

/** JSON-like bodies of awkward bytes: emoji, invalid UTF-8, NUL, long runs, and plain noise. */
function awkwardBody (random: () => number, length: number): Buffer {
  const pieces = [Buffer.from('{"event":"meeting.created","payload":{"object":{"topic":"'), Buffer.from('Weekly 🗓️ sync — 👩🏽‍💻'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from([0]), Buffer.from('a'.repeat(50)), Buffer.from('"}}}')]
  const parts: Buffer[] = []
  let size = 0
  while (size < length) {
    const part = random() < 0.3 ? randomBytes(random, 1 + randomInt(random, 40)) : pick(random, pieces)
    parts.push(part)
    size += part.length
  }
  return Buffer.concat(parts).subarray(0, length)
}

t.test('every byte sequence comes back bit for bit (sha256), at every size compression takes', async t => {
  const random = seededRandom(17)
  const sizes = [256, 257, 1000, 1062, 4096, 20_000, MAX_COMPRESSED_BODY_BYTES - 1, MAX_COMPRESSED_BODY_BYTES]
  let compressed = 0
  for (const size of sizes) {
    for (const body of [awkwardBody(random, size), randomBytes(random, size), Buffer.alloc(size, 0x7b)]) {
      const stored = compressBody(body)
      if (stored === undefined) continue
      compressed++
      t.ok(stored.length < body.length, `${size} B: smaller (${stored.length})`)
      t.equal(sha256(decompressBody(stored, BODY_CODEC_DEFLATE_V1, 'x')), sha256(body), `${size} B: the same bytes`)
    }
  }
  t.ok(compressed >= sizes.length * 2, `${compressed} bodies compressed (noise that would not shrink is stored as it came)`)
  t.equal(compressBody(randomBytes(random, 4096)), undefined, 'random bytes do not shrink: stored as they came')
})

t.test('small and large bodies are stored as they came', async t => {
  t.equal(compressBody(Buffer.from('{"event":"endpoint.url_validation"}')), undefined, 'under 256 bytes')
  t.equal(compressBody(Buffer.alloc(MAX_COMPRESSED_BODY_BYTES + 1, 0x7b)), undefined, 'over 32 KiB: no compression on the ack path')
})

t.test('a Zoom event takes about a third of its size', async t => {
  const body = Buffer.from(meetingCreated(4242, { topic: 'Quarterly review 🚀', agenda: 'Numbers, hiring, next steps' }))
  const stored = compressBody(body)
  t.ok(stored !== undefined && stored.length < body.length * 0.6, `${body.length} B stored in ${stored?.length} B`)
})

t.test('a damaged, truncated or unknown stored body is an IntegrityError, never other bytes', async t => {
  const body = Buffer.from(meetingCreated(7).repeat(4))
  const stored = compressBody(body) as Buffer
  t.throws(() => decompressBody(stored.subarray(0, stored.length - 3), BODY_CODEC_DEFLATE_V1, 'e1'), IntegrityError, 'truncated')
  const flipped = Buffer.from(stored)
  const middle = Math.floor(flipped.length / 2)
  flipped.writeUInt8(flipped.readUInt8(middle) ^ 0xff, middle)
  let damaged: Buffer | IntegrityError
  try { damaged = decompressBody(flipped, BODY_CODEC_DEFLATE_V1, 'e2') } catch (err) { damaged = err as IntegrityError }
  // Deflate has no checksum: a flipped bit may still inflate, but never to the original.
  t.ok(damaged instanceof IntegrityError || sha256(damaged) !== sha256(body), 'a flipped byte: an error or other bytes, never the original passed off')
  t.throws(() => decompressBody(stored, 2, 'e3'), IntegrityError, 'an encoding this version does not know')
  t.throws(() => decompressBody(Buffer.alloc(MAX_COMPRESSED_BODY_BYTES, 0x03), BODY_CODEC_DEFLATE_V1, 'e4'), IntegrityError, 'garbage')
})

t.test('records: the metadata says how the body is stored; records written without it read as they are', async t => {
  const body = Buffer.from(meetingCreated(99))
  const stored = compressBody(body) as Buffer
  const deflated = readEventRecord('1-0', stored, Buffer.from(storedMeta(event(body), BODY_CODEC_DEFLATE_V1)))
  t.equal(sha256(deflated.body), sha256(body), 'deflated record')
  t.same(JSON.parse(storedMeta(event(body), BODY_CODEC_DEFLATE_V1)).z, 1, 'codec in the metadata')
  const plain = readEventRecord('1-0', body, Buffer.from(storedMeta(event(body))))
  t.equal(sha256(plain.body), sha256(body), 'a record stored as sent (EVENT_BODY_COMPRESSION=off, or written before compression)')
  t.notOk('z' in JSON.parse(storedMeta(event(body))), 'no codec: as sent')
  t.equal(readEventRecord('1-0', null, Buffer.from(storedMeta(event(body), BODY_CODEC_DEFLATE_V1))).body.length, 0, 'a body retention removed reads as empty')
  t.throws(() => readEventRecord('1-0', stored, Buffer.from(JSON.stringify({ h: {}, s: 'x', e: 'meeting.created', z: 'deflate' }))), IntegrityError, 'a codec that is not a number')
})
