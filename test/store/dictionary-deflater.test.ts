import t from 'tap'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { DictionaryDeflater } from '../../src/store/dictionary-deflater.js'
import { pick, randomBytes, randomInt, seededRandom } from '../helpers/random.js'
import { sha256 } from '../helpers/sink.js'
import { meetingCreated } from '../helpers/zoom.js'

/** What zlib reads back: the judge of every output below. */
const inflated = (deflated: Buffer, dictionary: Uint8Array): Buffer =>
  dictionary.length === 0 ? inflateRawSync(deflated) : inflateRawSync(deflated, { dictionary })

const DICTIONARY = Buffer.from('{"event":"meeting.created","payload":{"account_id":"","object":{"uuid":"","id":,"topic":"","start_time":"","duration":60}}}')

/** Inputs that exercise every branch: runs longer than a match (258), repeats just inside and past the window, noise, dictionary text, invalid UTF-8, emoji. */
function awkwardInput (random: () => number, length: number, dictionary: Uint8Array): Buffer {
  const pieces = [Buffer.from(dictionary), Buffer.from('🗓️ Weekly sync — 👩🏽‍💻'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0]), Buffer.alloc(300, 0x61), Buffer.from('"topic":"')]
  const parts: Buffer[] = []
  let size = 0
  while (size < length) {
    const roll = random()
    const part = roll < 0.3
      ? randomBytes(random, 1 + randomInt(random, 60))
      : roll < 0.4 && size > 0
        // A copy of something earlier: matches at every distance, overlapping ones included.
        ? Buffer.concat(parts).subarray(randomInt(random, size), randomInt(random, size) + 1 + randomInt(random, 400))
        : pick(random, pieces)
    parts.push(part)
    size += part.length
  }
  return Buffer.concat(parts).subarray(0, length)
}

t.test('zlib reads back every input bit for bit (sha256), with and without a dictionary, one deflater reused', async t => {
  const random = seededRandom(1951)
  for (const dictionary of [DICTIONARY, Buffer.alloc(0), randomBytes(random, 40_000)]) {
    const deflater = new DictionaryDeflater(dictionary, 40_000)
    let checked = 0
    const sizes = [0, 1, 2, 3, 4, 5, 257, 258, 259, 1000, 1062, 4096, 32_767, 32_768, 32_769, 40_000]
    for (let i = 0; i < 300; i++) sizes.push(randomInt(random, 6000))
    for (const size of sizes) {
      for (const input of [awkwardInput(random, size, dictionary), randomBytes(random, size), Buffer.alloc(size, 0x7b)]) {
        const back = inflated(deflater.deflate(input), dictionary)
        if (sha256(back) !== sha256(input)) t.fail(`${size} B with a ${dictionary.length} B dictionary: different bytes`)
        checked++
      }
    }
    t.equal(checked, sizes.length * 3, `${checked} inputs checked against a ${dictionary.length} B dictionary`)
  }
})

t.test('what a body repeats of the dictionary costs a few bytes: Zoom JSON deflates as well as zlib level 1', async t => {
  const deflater = new DictionaryDeflater(DICTIONARY, 32_768)
  const body = Buffer.from(meetingCreated(4242, { topic: 'Quarterly review 🚀' }))
  const ours = deflater.deflate(body)
  const zlib = deflateRawSync(body, { level: 1, dictionary: DICTIONARY })
  t.equal(sha256(inflated(ours, DICTIONARY)), sha256(body), 'the same bytes')
  t.ok(ours.length <= zlib.length * 1.1, `${body.length} B: ours ${ours.length} B, zlib level 1 ${zlib.length} B`)
  t.ok(deflater.deflate(DICTIONARY).length < 12, 'the dictionary itself: one match and the block\'s frame')
})

t.test('an input longer than the limit is refused, and the deflater stays usable', async t => {
  const deflater = new DictionaryDeflater(DICTIONARY, 1024)
  t.throws(() => deflater.deflate(Buffer.alloc(1025)), RangeError)
  const input = Buffer.from(meetingCreated(1))
  t.equal(sha256(inflated(deflater.deflate(input.subarray(0, 1024)), DICTIONARY)), sha256(input.subarray(0, 1024)))
})
