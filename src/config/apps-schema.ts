import { readFileSync } from 'node:fs'
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import { packageFile } from '../package-file.js'
import { checkHttpUrl } from './env-reader.js'

/** The JSON Schema (draft 2020-12) of `CONFIG_FILE`: the reference for its format. */
export const APPS_SCHEMA_FILE = packageFile('schema/apps.schema.json')

/** A location in the document: `['apps', 0, 'destinations', 2, 'event']`. */
export type DocumentPath = ReadonlyArray<string | number>

/** One schema violation, in the user's terms. */
export interface SchemaProblem {
  path: DocumentPath
  /** What is wrong and how to fix it (the schema's `errorMessage`), without the path. */
  message: string
}

/** The parts of a schema object this module reads. */
interface SchemaNode {
  errorMessage?: string
  properties?: Record<string, SchemaNode>
}

interface Compiled { document: ValidateFunction, oauth: ValidateFunction }
let compiled: Compiled | undefined

/** The schema as a JSON value (for tests and tools). */
export function appsSchema (): Record<string, unknown> {
  return JSON.parse(readFileSync(APPS_SCHEMA_FILE, 'utf8')) as Record<string, unknown>
}

/** Compiled once per process; every caller shares the same Ajv instance. */
function validators (): Compiled {
  if (compiled !== undefined) return compiled
  // verbose: errors carry their parentSchema, which holds the errorMessage to show. strictRequired
  // off: if/then branches require keys that the enclosing schema defines.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true })
  // An annotation the relay (and VS Code / yaml-language-server) shows instead of Ajv's wording.
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' })
  // Exactly what the relay accepts as a URL (WHATWG URL, http or https).
  ajv.addFormat('http-url', { type: 'string', validate: (s: string) => checkHttpUrl(s) !== undefined })
  const schema = appsSchema()
  ajv.addSchema(schema)
  const id = schema.$id as string
  const get = (ref: string): ValidateFunction => {
    const fn = ajv.getSchema(ref)
    if (fn === undefined) throw new Error(`${ref} is not in ${APPS_SCHEMA_FILE}`)
    return fn
  }
  compiled = { document: get(id), oauth: get(`${id}#/$defs/oauth`) }
  return compiled
}

/** Checks a whole `CONFIG_FILE` document (after `${VAR}` substitution). */
export function validateAppsDocument (document: unknown): SchemaProblem[] {
  return run(validators().document, document)
}

/** Checks one `oauth` section (the env-configured app builds one from ZOOM_* variables). */
export function validateOAuthSection (section: unknown): SchemaProblem[] {
  return run(validators().oauth, section)
}

function run (validate: ValidateFunction, data: unknown): SchemaProblem[] {
  if (validate(data)) return []
  const seen = new Set<string>()
  const problems: SchemaProblem[] = []
  for (const error of validate.errors ?? []) {
    const problem = toProblem(error)
    const key = problem === undefined ? '' : `${formatPath(problem.path)}\0${problem.message}`
    if (problem === undefined || seen.has(key)) continue
    seen.add(key)
    problems.push(problem)
  }
  return problems
}

function toProblem (error: ErrorObject): SchemaProblem | undefined {
  // "must match then schema": the errors of the `then` branch say it better.
  if (error.keyword === 'if') return undefined
  const path: Array<string | number> = error.instancePath.split('/').slice(1)
    .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map(s => /^\d+$/.test(s) ? Number(s) : s)
  const parent = (error.parentSchema ?? {}) as SchemaNode
  if (error.keyword === 'required') {
    const key = (error.params as { missingProperty: string }).missingProperty
    return { path: [...path, key], message: parent.properties?.[key]?.errorMessage ?? 'is required.' }
  }
  if (error.keyword === 'additionalProperties') {
    const key = (error.params as { additionalProperty: string }).additionalProperty
    return { path: [...path, key], message: unknownKeyMessage(key, Object.keys(parent.properties ?? {})) }
  }
  return { path, message: parent.errorMessage ?? `${error.message ?? 'is not valid'}.` }
}

/** "is not a known key; did you mean `events`?" or the list of known keys. */
export function unknownKeyMessage (key: string, known: readonly string[]): string {
  const nearest = nearestKey(key, known)
  if (nearest !== undefined) return `is not a known key; did you mean \`${nearest}\`?`
  return `is not a known key here; remove it or use one of: ${known.filter(k => k !== '$schema').join(', ')}.`
}

/** The known key closest to a misspelt one (case-insensitive Levenshtein distance ≤ 2), if any. */
export function nearestKey (key: string, known: readonly string[]): string | undefined {
  let best: { key: string, distance: number } | undefined
  for (const candidate of known) {
    const distance = levenshtein(key.toLowerCase(), candidate.toLowerCase())
    if (distance <= Math.min(2, Math.max(1, candidate.length - 2)) && (best === undefined || distance < best.distance)) best = { key: candidate, distance }
  }
  return best?.key
}

function levenshtein (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}

/** `apps[0].destinations[2].event`: the path as the user reads the file. */
export function formatPath (path: DocumentPath): string {
  return path.map((segment, i) => typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`).join('')
}
