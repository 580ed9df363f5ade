import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

/** Writes `content` to a fresh temp file that is removed when `t` ends; returns its path. */
export function tempFile (t: Test, name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zr-test-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

/**
 * A CONFIG_FILE with one app, `sales` (Secret Token `secret`), and one HTTP destination, `crm`, at `url`, with the
 * destination `settings` given (YAML lines, e.g. `retry: { attempts: 3 }`); removed when `t` ends.
 */
export function oneDestinationConfig (t: Test, secret: string, url: string, settings: string[]): string {
  return tempFile(t, 'apps.yaml', [
    'apps:',
    '  - name: sales',
    `    secretTokens: ["${secret}"]`,
    '    destinations:',
    '      - type: http',
    '        name: crm',
    `        url: ${url}`,
    ...settings.map(line => `        ${line}`)
  ].join('\n') + '\n')
}
