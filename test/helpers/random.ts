/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

export function randomInt (random: () => number, max: number): number {
  return Math.floor(random() * max)
}

export function randomBytes (random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length)
  for (let i = 0; i < length; i++) bytes[i] = randomInt(random, 256)
  return bytes
}

export function pick<T> (random: () => number, items: readonly T[]): T {
  return items[randomInt(random, items.length)] as T
}
