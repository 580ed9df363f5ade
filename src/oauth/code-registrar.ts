import type { AppConfig, DestinationConfig } from '../config/config.js'
import { ProviderApiError } from '../errors.js'
import { ATTENDEE_DEFAULT_FLAGS } from '../providers/attendee-api.js'
import type { ProviderApis } from '../providers/provider-apis.js'
import type { RecallConflict } from '../providers/recall-api.js'

export interface Registration {
  provider: 'recall' | 'attendee'
  /** Id of the Recall credential or Attendee connection created. */
  id: string
  /** Credentials Recall already held for that Zoom account/user, deleted first. */
  replaced: number
}

/** What the install carried along besides the code. */
export interface RegistrationOptions {
  /** The caller's opaque `ref` from the install URL; Attendee keeps it as `metadata.ref`. */
  ref?: string
}

/**
 * Hands an authorization code to the app's registrar. Recall answers 400
 * with the conflicting Zoom account or user when a credential already exists
 * (a user who removed the app and installs it again): delete that credential
 * and create once more, as Recall documents. Attendee needs no such dance: it
 * keeps one connection per app and Zoom user and updates it (same id).
 */
export async function registerCode (
  apis: ProviderApis,
  app: AppConfig,
  registrar: DestinationConfig,
  code: { code: string, redirectUri: string, codeVerifier?: string },
  opts: RegistrationOptions = {}
): Promise<Registration> {
  if (registrar.kind === 'attendee') {
    // Attendee takes no PKCE verifier; it is never sent there.
    const connection = await apis.attendee(app, registrar).createConnection(
      { code: code.code, redirectUri: code.redirectUri },
      registrar.attendeeConnection ?? ATTENDEE_DEFAULT_FLAGS,
      opts.ref === undefined ? undefined : { ref: opts.ref })
    return { provider: 'attendee', id: String(connection.id), replaced: 0 }
  }
  const recall = apis.recall(app, registrar)
  const first = await recall.createCredential(code)
  if ('credential' in first) return { provider: 'recall', id: first.credential.id, replaced: 0 }

  const replaced = await deleteConflicting(apis, app, registrar, first.conflict)
  const second = await recall.createCredential(code)
  if ('credential' in second) return { provider: 'recall', id: second.credential.id, replaced }
  throw new ProviderApiError(`Recall still reports a conflicting credential (${describeConflict(second.conflict)}) after deleting ${replaced}.`, { status: 400, retryable: false })
}

async function deleteConflicting (apis: ProviderApis, app: AppConfig, registrar: DestinationConfig, conflict: RecallConflict): Promise<number> {
  const recall = apis.recall(app, registrar)
  const found = await recall.listCredentials(conflict.accountId !== undefined ? { account_id: conflict.accountId } : { user_id: conflict.userId })
  let deleted = 0
  for (const credential of found) {
    if (await recall.deleteCredential(credential.id) === 'deleted') deleted++
  }
  return deleted
}

function describeConflict (conflict: RecallConflict): string {
  return conflict.accountId !== undefined ? `Zoom account ${conflict.accountId}` : `Zoom user ${conflict.userId ?? '?'}`
}
