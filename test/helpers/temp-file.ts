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
