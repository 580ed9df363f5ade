/**
 * Reads typed values from an environment, collecting every problem instead of
 * stopping at the first, so one start-up error lists all that is wrong.
 */
export class EnvReader {
  readonly problems: string[] = []
  private readonly env: Readonly<Record<string, string | undefined>>

  constructor (env: Readonly<Record<string, string | undefined>>) {
    this.env = env
  }

  /** The trimmed value, or undefined when unset or blank. */
  string (name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  /** A whole number within [min, max]; `fallback` when unset. */
  integer (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}="${raw}" is not a whole number between ${min} and ${max}. Set it to such a number or unset it (default ${fallback}).`)
      return fallback
    }
    return value
  }

  /** One of `allowed`; `fallback` when unset. */
  oneOf<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}="${raw}" is not one of ${allowed.join(', ')}. Pick one of those or unset it (default ${fallback}).`)
      return fallback
    }
    return raw as T
  }

  /** An absolute http(s) URL without a trailing slash; undefined when unset. */
  baseUrl (name: string): string | undefined {
    const raw = this.string(name)
    if (raw === undefined) return undefined
    const url = checkHttpUrl(raw)
    if (url === undefined) {
      this.problems.push(`${name}="${raw}" is not an absolute http(s) URL. Use e.g. https://us-east-1.recall.ai, or unset it.`)
      return undefined
    }
    return url.replace(/\/+$/, '')
  }
}

/** The URL itself when it is absolute http(s), else undefined. */
export function checkHttpUrl (raw: string): string | undefined {
  try {
    const url = new URL(raw)
    return url.protocol === 'http:' || url.protocol === 'https:' ? raw : undefined
  } catch {
    return undefined
  }
}
