/** The JSON lines (pino's output) in a process's captured output; other lines (npm's banner, stack traces) are skipped. */
export function jsonLogLines<T = Record<string, unknown>> (text: string): T[] {
  return text.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as T)
}
