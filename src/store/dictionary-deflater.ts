/**
 * Raw deflate (RFC 1951) of small inputs against a fixed preset dictionary,
 * written for the ack path: the output is standard deflate, read back by
 * zlib's `inflateRawSync(…, { dictionary })` like any other.
 *
 * Why not zlib here: Node offers no reusable synchronous compressor, so each
 * `deflateRawSync` builds a zlib stream (~8 µs), hashes the whole dictionary
 * again and leaves a native handle to the garbage collector; on a 1 KB
 * webhook that was ~17 % of the web role's busy time. This encoder hashes
 * the dictionary once, in the constructor, and keeps its tables between
 * calls. What it gives up: one block with the fixed Huffman codes (no
 * per-body code tables) and a greedy match search of bounded depth, so its
 * output is somewhat larger than zlib's; for inputs of a few KB the
 * difference is small, and the caller keeps the input when nothing is saved.
 */

/** Deflate's smallest and largest match, and how far back a match may reach. */
const MIN_MATCH = 3
const MAX_MATCH = 258
const WINDOW = 32_768

/** Hash of three bytes: 14 bits keeps chains short for a dictionary of a few KB plus a body. */
const HASH_BITS = 14
const HASH_SIZE = 1 << HASH_BITS
const HASH_MASK = HASH_SIZE - 1

/** How many earlier occurrences a match search looks at: zlib's level 1 looks at 4; more finds longer matches in JSON. */
const MAX_CHAIN = 16
/** A match this long is taken without looking further. */
const GOOD_ENOUGH = 64
/** Positions inside a longer match are not hashed: a quarter less time, the same size on webhook JSON (zlib's fast levels do likewise). */
const INSERT_LIMIT = 16

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DISTANCE_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

/** `code` (`bits` long, most significant bit first as Huffman codes are defined) reversed, as deflate's bit stream sends it. */
function reversed (code: number, bits: number): number {
  let out = 0
  for (let i = 0; i < bits; i++) out = (out << 1) | ((code >>> i) & 1)
  return out
}

/** The fixed literal/length code of `symbol` (RFC 1951, 3.2.6), reversed, and its length. */
function fixedCode (symbol: number): [number, number] {
  if (symbol < 144) return [reversed(0x30 + symbol, 8), 8]
  if (symbol < 256) return [reversed(0x190 + symbol - 144, 9), 9]
  if (symbol < 280) return [reversed(symbol - 256, 7), 7]
  return [reversed(0xc0 + symbol - 280, 8), 8]
}

/**
 * Code tables shared by every instance: per literal, per match length and
 * per distance, the bits to send (Huffman code and extra bits together) and
 * how many.
 */
const LITERAL_BITS = new Uint32Array(256)
const LITERAL_COUNT = new Uint8Array(256)
const LENGTH_BITS = new Uint32Array(MAX_MATCH + 1)
const LENGTH_COUNT = new Uint8Array(MAX_MATCH + 1)
const DISTANCE_BITS = new Uint32Array(WINDOW + 1)
const DISTANCE_COUNT = new Uint8Array(WINDOW + 1)
const [END_OF_BLOCK_BITS, END_OF_BLOCK_COUNT] = fixedCode(256)
for (let literal = 0; literal < 256; literal++) [LITERAL_BITS[literal], LITERAL_COUNT[literal]] = fixedCode(literal)
for (let code = 0; code < LENGTH_BASE.length; code++) {
  const [bits, count] = fixedCode(257 + code)
  const extra = LENGTH_EXTRA[code] as number
  const base = LENGTH_BASE[code] as number
  const last = code === LENGTH_BASE.length - 1 ? MAX_MATCH : Math.min(MAX_MATCH - 1, base + (1 << extra) - 1)
  for (let length = base; length <= last; length++) {
    LENGTH_BITS[length] = bits | ((length - base) << count)
    LENGTH_COUNT[length] = count + extra
  }
}
for (let code = 0; code < DISTANCE_BASE.length; code++) {
  const extra = DISTANCE_EXTRA[code] as number
  const base = DISTANCE_BASE[code] as number
  for (let distance = base; distance < base + (1 << extra) && distance <= WINDOW; distance++) {
    // Fixed distance codes are five bits, reversed like the others; the extra bits follow as a number.
    DISTANCE_BITS[distance] = reversed(code, 5) | ((distance - base) << 5)
    DISTANCE_COUNT[distance] = 5 + extra
  }
}

/** The hash of the three bytes at `p`. */
function hashAt (w: Uint8Array, p: number): number {
  return (((w[p] as number) << 10) ^ ((w[p + 1] as number) << 5) ^ (w[p + 2] as number)) & HASH_MASK
}

/** A deflater for inputs of up to `maxInputBytes`, preset with `dictionary`. Not re-entrant: one call at a time (JavaScript's one thread). */
export class DictionaryDeflater {
  private readonly window: Uint8Array
  private readonly dictionaryLength: number
  private readonly maxInputBytes: number
  /** Latest dictionary position per hash (−1: none), made once. */
  private readonly dictionaryHead: Int32Array
  /** Latest input position per hash, valid where `inputHeadCall` holds the current call's number. */
  private readonly inputHead: Int32Array
  private readonly inputHeadCall: Uint32Array
  /** Per window position, the previous position with the same hash (−1: none); the dictionary's part is made once. */
  private readonly previous: Int32Array
  private readonly output: Uint8Array
  private call = 0

  constructor (dictionary: Uint8Array, maxInputBytes: number) {
    // Only the last WINDOW bytes of a dictionary can be reached, as in zlib.
    const dict = dictionary.subarray(Math.max(0, dictionary.length - WINDOW))
    this.dictionaryLength = dict.length
    this.maxInputBytes = maxInputBytes
    this.window = new Uint8Array(dict.length + maxInputBytes)
    this.window.set(dict)
    this.previous = new Int32Array(dict.length + maxInputBytes).fill(-1)
    this.dictionaryHead = new Int32Array(HASH_SIZE).fill(-1)
    this.inputHead = new Int32Array(HASH_SIZE)
    this.inputHeadCall = new Uint32Array(HASH_SIZE)
    for (let p = 0; p + MIN_MATCH <= dict.length; p++) {
      const h = hashAt(this.window, p)
      this.previous[p] = this.dictionaryHead[h] as number
      this.dictionaryHead[h] = p
    }
    // Worst case: every byte a nine-bit literal, plus the block header and end code.
    this.output = new Uint8Array(Math.ceil(maxInputBytes * 9 / 8) + 8)
  }

  /** `input` as one final deflate block; throws `RangeError` when it is longer than the limit given to the constructor. */
  deflate (input: Uint8Array): Buffer {
    if (input.length > this.maxInputBytes) throw new RangeError(`input of ${input.length} bytes exceeds ${this.maxInputBytes}`)
    // A new call number invalidates every input position of the previous call at once.
    this.call = this.call === 0xffffffff ? 1 : this.call + 1
    if (this.call === 1) this.inputHeadCall.fill(0)
    const call = this.call
    const w = this.window
    const start = this.dictionaryLength
    const end = start + input.length
    w.set(input, start)
    const out = this.output
    // Locals, not fields, in the loop: V8 keeps them in registers.
    const previous = this.previous
    const inputHead = this.inputHead
    const inputHeadCall = this.inputHeadCall
    const dictionaryHead = this.dictionaryHead
    /** Puts position `q` at the head of its hash's chain, after what the hash held (this call's input, else the dictionary). */
    const insert = (q: number): void => {
      const h = hashAt(w, q)
      previous[q] = inputHeadCall[h] === call ? inputHead[h] as number : dictionaryHead[h] as number
      inputHead[h] = q
      inputHeadCall[h] = call
    }
    let o = 0
    // BFINAL = 1, BTYPE = 01 (fixed Huffman codes), sent least significant bit first.
    let bits = 0b011
    let count = 3

    let p = start
    while (p < end) {
      let bestLength = 0
      let bestDistance = 0
      if (p + MIN_MATCH <= end) {
        // Inserted before searching: its chain continues with what the hash held.
        insert(p)
        let candidate = previous[p] as number
        const limit = Math.min(MAX_MATCH, end - p)
        let chain = MAX_CHAIN
        while (candidate >= 0 && p - candidate <= WINDOW && chain-- > 0) {
          // Check the byte that would make this match the longest first: most candidates fail there.
          if (w[candidate + bestLength] === w[p + bestLength]) {
            let length = 0
            while (length < limit && w[candidate + length] === w[p + length]) length++
            if (length > bestLength) {
              bestLength = length
              bestDistance = p - candidate
              if (length >= GOOD_ENOUGH || length === limit) break
            }
          }
          candidate = previous[candidate] as number
        }
      }
      if (bestLength >= MIN_MATCH) {
        bits |= (LENGTH_BITS[bestLength] as number) << count
        count += LENGTH_COUNT[bestLength] as number
        while (count >= 8) { out[o++] = bits & 0xff; bits >>>= 8; count -= 8 }
        bits |= (DISTANCE_BITS[bestDistance] as number) << count
        count += DISTANCE_COUNT[bestDistance] as number
        while (count >= 8) { out[o++] = bits & 0xff; bits >>>= 8; count -= 8 }
        // The positions inside a short match join their chains too, so later matches can start there.
        const next = p + bestLength
        if (bestLength > INSERT_LIMIT) p = next
        else for (p++; p < next; p++) if (p + MIN_MATCH <= end) insert(p)
      } else {
        const literal = w[p] as number
        bits |= (LITERAL_BITS[literal] as number) << count
        count += LITERAL_COUNT[literal] as number
        while (count >= 8) { out[o++] = bits & 0xff; bits >>>= 8; count -= 8 }
        p++
      }
    }
    bits |= END_OF_BLOCK_BITS << count
    count += END_OF_BLOCK_COUNT
    while (count > 0) { out[o++] = bits & 0xff; bits >>>= 8; count -= 8 }
    return Buffer.from(out.subarray(0, o))
  }
}
