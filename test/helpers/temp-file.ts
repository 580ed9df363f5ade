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

/** One HTTP destination of `httpDestinationsConfig`: its name, URL and settings (YAML lines, e.g. `retry: { attempts: 3 }`). */
export interface HttpDestinationLines { name: string, url: string, settings?: string[] }

/** A CONFIG_FILE with one app, `sales` (Secret Token `secret`), and the HTTP destinations given; removed when `t` ends. */
export function httpDestinationsConfig (t: Test, secret: string, destinations: HttpDestinationLines[]): string {
  return tempFile(t, 'apps.yaml', [
    'apps:',
    '  - name: sales',
    `    secretTokens: ["${secret}"]`,
    '    destinations:',
    ...destinations.flatMap(({ name, url, settings = [] }) => [
      '      - type: http',
      `        name: ${name}`,
      `        url: ${url}`,
      ...settings.map(line => `        ${line}`)
    ])
  ].join('\n') + '\n')
}

/** `httpDestinationsConfig` with one destination, `crm`, at `url`, with the `settings` given. */
export function oneDestinationConfig (t: Test, secret: string, url: string, settings: string[]): string {
  return httpDestinationsConfig(t, secret, [{ name: 'crm', url, settings }])
}
