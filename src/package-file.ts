import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory of this package's package.json, found from this module: the
 * same code runs from src/ (tsx) and from dist/src/ (compiled), one level apart.
 */
function findPackageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

let root: string | undefined

/** Absolute path of a file shipped with the package, e.g. `schema/apps.schema.json`. */
export function packageFile (relativePath: string): string {
  root ??= findPackageRoot()
  return join(root, relativePath)
}

/** The `version` of package.json. */
export function packageVersion (): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version
}
