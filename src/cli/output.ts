/** Rows as an aligned plain-text table (for people) or JSON (for scripts, `--json`). */
export function formatRows (rows: readonly object[], columns: readonly string[], json: boolean): string {
  if (json) return `${JSON.stringify(rows, null, 2)}\n`
  if (rows.length === 0) return '(none)\n'
  const cells = rows.map(row => columns.map(c => cell((row as Record<string, unknown>)[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(r => r[i]?.length ?? 0)))
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return `${[line(columns.map(c => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`
}

function cell (value: unknown): string {
  if (value === undefined || value === null) return '-'
  return typeof value === 'string' ? value : JSON.stringify(value)
}
