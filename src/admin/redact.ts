/** Keys whose values the queue UI never shows. Zoom bodies carry meeting passwords; nothing here should carry more. */
const SECRET_KEY = /authorization|secret|token|password|passcode|api[-_]?key|signature|cookie/i

/**
 * A job's data as the queue UI shows it: the stored body parsed (when it is
 * JSON) and every value under a secret-looking key replaced, recursively.
 * Display only: what is stored and relayed is never changed.
 */
export function redactSecrets (data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data
  const record = data as Record<string, unknown>
  const shown: Record<string, unknown> = { ...record }
  if (typeof record.body === 'string' && record.encoding === 'utf8') {
    try { shown.body = JSON.parse(record.body) } catch {}
  }
  return redact(shown)
}

function redact (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? '[redacted]' : redact(inner)]))
}
