import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AppConfig } from '../config/config.js'

/** An install's `ref`: opaque to the relay, carried through Zoom inside the state. */
export const OAUTH_REF_PATTERN = /^[A-Za-z0-9_-]{1,128}$/

/** What an install says, and the callback gets back once the state checks out. */
export interface OAuthStateClaims {
  /** Name of the app the install is for. */
  app: string
  /** The caller's reference (`?ref=` of the install), at most 128 of `[A-Za-z0-9_-]`. */
  ref?: string
}

/** A state whose MAC and expiry checked out. */
export interface VerifiedOAuthState extends OAuthStateClaims {
  /** 16 random bytes (base64url) that make each state unique: the key the callback marks used. */
  nonce: string
  /** When the state stops being accepted (epoch ms). */
  expiresAt: number
  /** This state's PKCE verifier (43 base64url characters), derived again from the state. */
  codeVerifier: string
}

/** Why a state was refused: `malformed` (not one of ours at all), `forged` (MAC does not match: tampered, another relay's, or a key since changed), `expired`. */
export type OAuthStateProblem = 'malformed' | 'forged' | 'expired'

export type OAuthStateCheck = { ok: true, state: VerifiedOAuthState } | { ok: false, problem: OAuthStateProblem }

export interface OAuthStateSignerOptions {
  /** The configured apps; only those with `oauth` get keys. */
  apps: readonly AppConfig[]
  /**
   * `OAUTH_STATE_SECRET`: the root key of every app. Unset: each app's Zoom
   * Secret Tokens are the roots (the current one signs; the previous one, during
   * a rotation, is still accepted). @defaultValue unset
   */
  secret?: string
  /** How long a state is accepted after it was issued. */
  ttlSeconds: number
  /** Clock (epoch ms), for tests. @defaultValue `Date.now` */
  now?: () => number
}

const VERSION = 'z1'
const MAC_BYTES = 32
const NONCE_BYTES = 16
/** Longest state we ever issue (version, 63-char app, 128-char ref, expiry, nonce, MAC), base64url, with room to spare. */
const MAX_STATE_CHARS = 512
const PAYLOAD = /^z1\.([a-z0-9][a-z0-9_-]{0,62})\.([A-Za-z0-9_-]{0,128})\.(\d{1,13})\.([A-Za-z0-9_-]{22})$/
// Domain separation: the same root (a Zoom Secret Token also signs Zoom's webhooks) never keys two purposes.
const MAC_LABEL = 'zoom-webhook-relay oauth-state mac v1'
const VERIFIER_LABEL = 'zoom-webhook-relay oauth-state pkce-verifier v1'

interface AppKeys { mac: Buffer, verifier: Buffer }

/**
 * Stateless OAuth `state` values: issuing one costs Redis nothing.
 *
 * A state is base64url of `z1.<app>.<ref>.<expiry s>.<nonce>` followed by an
 * HMAC-SHA256 of that text under a key only the relay holds (derived from
 * `OAUTH_STATE_SECRET`, or from the app's Zoom Secret Token, with a label of
 * its own). The PKCE verifier is an HMAC of the whole state under a second
 * derived key, so nothing has to be kept between the install and the
 * callback. Single use is the callback's job (`UsedOAuthStates`).
 */
export class OAuthStateSigner {
  private readonly keys = new Map<string, AppKeys[]>()
  private readonly ttlMs: number
  private readonly now: () => number

  constructor (opts: OAuthStateSignerOptions) {
    this.ttlMs = opts.ttlSeconds * 1000
    this.now = opts.now ?? Date.now
    for (const app of opts.apps) {
      if (app.oauth === undefined) continue
      const roots = opts.secret === undefined ? app.secretTokens : [opts.secret]
      this.keys.set(app.name, roots.map(root => ({ mac: derive(root, MAC_LABEL), verifier: derive(root, VERIFIER_LABEL) })))
    }
  }

  /** A fresh state for an install, with its PKCE verifier. Throws on an app without `oauth` or a bad `ref` (a bug of the caller). */
  issue (claims: OAuthStateClaims): { state: string, codeVerifier: string, expiresAt: number } {
    const [keys] = this.keys.get(claims.app) ?? []
    if (keys === undefined) throw new Error(`app "${claims.app}" has no OAuth flow configured`)
    if (claims.ref !== undefined && !OAUTH_REF_PATTERN.test(claims.ref)) throw new Error('ref must be at most 128 of [A-Za-z0-9_-]')
    const expiresAt = Math.ceil((this.now() + this.ttlMs) / 1000) * 1000
    const payload = Buffer.from([VERSION, claims.app, claims.ref ?? '', String(expiresAt / 1000), randomBytes(NONCE_BYTES).toString('base64url')].join('.'), 'latin1')
    const state = Buffer.concat([payload, mac(keys.mac, payload)]).toString('base64url')
    return { state, codeVerifier: verifierOf(keys, state), expiresAt }
  }

  /** The claims of a state we issued that has not expired; why not otherwise. Never throws. */
  check (state: string): OAuthStateCheck {
    if (state.length > MAX_STATE_CHARS || !/^[A-Za-z0-9_-]+$/.test(state)) return { ok: false, problem: 'malformed' }
    const bytes = Buffer.from(state, 'base64url')
    // One spelling per state: base64url decoding ignores stray trailing bits, re-encoding does not.
    if (bytes.length <= MAC_BYTES || bytes.toString('base64url') !== state) return { ok: false, problem: 'malformed' }
    const payload = bytes.subarray(0, bytes.length - MAC_BYTES)
    const given = bytes.subarray(bytes.length - MAC_BYTES)
    const fields = PAYLOAD.exec(payload.toString('latin1'))
    if (fields === null) return { ok: false, problem: 'malformed' }
    const [, app = '', ref = '', expiry = '', nonce = ''] = fields
    // An unknown app has no key: compare against a throwaway one, so the answer takes the same path.
    const candidates = this.keys.get(app) ?? [{ mac: randomBytes(32), verifier: randomBytes(32) }]
    let matched: AppKeys | undefined
    // Every key is tried (no early exit): the time taken does not say which matched.
    for (const keys of candidates) {
      if (timingSafeEqual(mac(keys.mac, payload), given) && matched === undefined) matched = keys
    }
    if (matched === undefined || !this.keys.has(app)) return { ok: false, problem: 'forged' }
    const expiresAt = Number(expiry) * 1000
    if (this.now() >= expiresAt) return { ok: false, problem: 'expired' }
    return { ok: true, state: { app, ...(ref === '' ? {} : { ref }), nonce, expiresAt, codeVerifier: verifierOf(matched, state) } }
  }

  /** `{ app, ref? }` (and nonce, expiry, verifier) of a valid state; undefined when it is malformed, forged or expired. */
  verify (state: string): VerifiedOAuthState | undefined {
    const checked = this.check(state)
    return checked.ok ? checked.state : undefined
  }
}

function derive (root: string, label: string): Buffer {
  return createHmac('sha256', root).update(label).digest()
}

function mac (key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest()
}

/** 32 bytes as base64url: 43 characters, a valid RFC 7636 verifier. */
function verifierOf (keys: AppKeys, state: string): string {
  return createHmac('sha256', keys.verifier).update(state, 'latin1').digest('base64url')
}
