// Loaded with `node --import`: makes every import of an OpenTelemetry package fail, so a relay
// process started with it proves, by running, that it never loads OpenTelemetry.
import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'

export async function resolve (specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) throw new Error(`OpenTelemetry import blocked by the test guard: ${specifier}`)
  return await next(specifier, context)
}

// The hooks run in their own thread, which loads this file again: register once, from the main thread.
if (isMainThread) register(import.meta.url)
