#!/usr/bin/env node
import { EXIT } from './cli-error.js'
import { zoomRelay } from './cli.js'

const io = { env: process.env, stdout: (text: string) => { process.stdout.write(text) }, stderr: (text: string) => { process.stderr.write(text) } }
zoomRelay(process.argv.slice(2), io).then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`zoom-relay: ${err instanceof Error ? (err as Error & { code?: string }).code ?? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = EXIT.failed
})
