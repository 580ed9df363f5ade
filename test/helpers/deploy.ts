import { spawnSync } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { parse } from 'yaml'
import { ROOT } from './cli.js'

export const CHART = join(ROOT, 'helm/zoom-webhook-relay')

/** Whether `command` is an executable on the PATH (without running it: `helm --version` is not a valid call). */
export function onPath (command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some(dir => {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

export interface Run { status: number | null, stdout: string, stderr: string }

export function run (command: string, args: string[], cwd = ROOT): Run {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 })
  return { status: result.status, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error === undefined ? '' : String(result.error)}` }
}

/** A YAML file; `merge: true` because docker-compose files share settings through merge keys (`<<: *relay`). */
export function readYaml<T = unknown> (path: string): T {
  return parse(readFileSync(path, 'utf8'), { merge: true }) as T
}

export interface DocumentedVariable { name: string, defaultCell: string }

/** Every environment variable of the README's configuration table, with its "Default" cell. */
export function documentedVariables (): DocumentedVariable[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf('## Configuration')
  const end = readme.indexOf('\n## ', start + 1)
  const table = readme.slice(start, end === -1 ? undefined : end).split('\n')
    .filter(line => line.startsWith('| `'))
    // The configuration table has three columns: Variable | Default | Meaning.
    .map(line => line.split('|').map(cell => cell.trim()))
    .filter(cells => /^(`[A-Z][A-Z0-9_]+`(, )?)+$/.test(cells[1] ?? ''))
  return table.flatMap(cells => [...(cells[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)]
    .map(match => ({ name: match[1] as string, defaultCell: cells[2] ?? '' })))
}

export function documentedNames (): Set<string> {
  return new Set(documentedVariables().map(v => v.name))
}

/** The variables whose default cell says "required". */
export function requiredNames (): string[] {
  return documentedVariables().filter(v => /required/i.test(v.defaultCell)).map(v => v.name)
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Helm's coalescing of a values file over the chart's defaults: maps merge deeply, null deletes a key. */
export function mergeValues (base: Json, over: Json): Json {
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    if (value === null) delete out[key]
    else out[key] = isObject(value) && isObject(current) ? mergeValues(current, value) : value
  }
  return out
}

/** Reads a dotted path (`worker.keda.enabled`) of an object; undefined when absent. */
export function at (object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => isObject(node) ? node[key] : undefined, object)
}

/** `{ a: { b: 1 } }` for `('a.b', 1)`: a values override for one path. */
export function valuesAt (path: string, value: unknown): Json {
  return path.split('.').reverse().reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Json
}
