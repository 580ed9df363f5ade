import { closeSync, openSync, writeSync } from 'node:fs'
import { meetingCreatedBody, signedHeaders } from './bodies.js'

/** What a request file holds; see {@link writeRequestFiles}. */
export interface SignedRequestOptions {
  /** The Zoom secret token the signatures are made with. */
  secret: string
  /** `n` of the first body (bodies are unique per `n`, see meetingCreatedBody). */
  first: number
  /** Requests in all files together. */
  count: number
  /** `x-zm-request-timestamp` of every request: when they were signed (default: now). */
  nowSeconds?: number
  /** Grow each body to exactly this many bytes (default: ~1,060-byte bodies). */
  padTo?: number
}

/**
 * One record of a wrk request file: `<length>\n`, then the request after its
 * request line and Host header (the Lua script adds those two, which depend
 * on the target): header lines, a blank line and the body.
 */
export function requestRecord (secret: string, n: number, nowSeconds: number, padTo = 0): string {
  const body = meetingCreatedBody(n, padTo)
  const bodyBytes = Buffer.byteLength(body)
  let head = ''
  for (const [name, value] of Object.entries(signedHeaders(secret, body, nowSeconds))) head += `${name}: ${value}\r\n`
  head += `content-length: ${bodyBytes}\r\n\r\n`
  // The head is ASCII: its length is its byte count.
  return `${head.length + bodyBytes}\n${head}${body}`
}

/** Reads records back (the inverse of {@link requestRecord}, as the Lua script reads them). */
export function decodeRecords (file: Buffer): Array<{ headers: Record<string, string>, body: Buffer }> {
  const out: Array<{ headers: Record<string, string>, body: Buffer }> = []
  let at = 0
  while (at < file.length) {
    const newline = file.indexOf(0x0a, at)
    const length = Number(file.subarray(at, newline).toString())
    const record = file.subarray(newline + 1, newline + 1 + length)
    const split = record.indexOf('\r\n\r\n')
    const headers = Object.fromEntries(record.subarray(0, split).toString().split('\r\n').map(line => {
      const colon = line.indexOf(': ')
      return [line.slice(0, colon), line.slice(colon + 2)]
    }))
    out.push({ headers, body: record.subarray(split + 4) })
    at = newline + 1 + length
  }
  return out
}

/**
 * Writes `<prefix>.0` … `<prefix>.<threads-1>`, one per wrk thread, with
 * `count` signed requests dealt round-robin; returns how many each holds.
 */
export function writeRequestFiles (prefix: string, threads: number, opts: SignedRequestOptions): number[] {
  const nowSeconds = opts.nowSeconds ?? Math.floor(Date.now() / 1000)
  const perThread: number[] = []
  for (let t = 0; t < threads; t++) {
    const fd = openSync(`${prefix}.${t}`, 'w')
    let written = 0
    let pending = ''
    for (let i = t; i < opts.count; i += threads) {
      pending += requestRecord(opts.secret, opts.first + i, nowSeconds, opts.padTo)
      written++
      if (pending.length > 1 << 20) {
        writeSync(fd, pending)
        pending = ''
      }
    }
    if (pending !== '') writeSync(fd, pending)
    closeSync(fd)
    perThread.push(written)
  }
  return perThread
}
