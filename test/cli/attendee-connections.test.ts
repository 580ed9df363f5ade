import t from 'tap'
import { CliError } from '../../src/cli/cli-error.js'
import { ATTENDEE_CONNECTIONS, runProviderRecords } from '../../src/cli/commands/provider-records.js'
import { configLoader } from '../../src/cli/commands/command.js'
import { runCli } from '../helpers/cli.js'
import { FakeZoom, startFakeAttendee, type AttendeeConnectionRecord } from '../helpers/fake-providers.js'
import { tempFile } from '../helpers/temp-file.js'

// Apart from provider-commands.test.ts so that each file has its own time budget on a busy machine.
t.test('zoom-relay attendee connections list|show|delete: Attendee\'s field names, every page, only the configured app', async t => {
  const zoom = new FakeZoom()
  const attendee = await startFakeAttendee({ apiKey: 'att-key', zoom, apps: ['zoa_1', 'zoa_other'] })
  t.teardown(async () => { await attendee.close() })
  // 30 connections in the project (two pages of 25), alternating between two Attendee apps.
  const mine: AttendeeConnectionRecord[] = []
  const others: AttendeeConnectionRecord[] = []
  for (let i = 0; i < 30; i++) {
    const record = attendee.addConnection({ appId: i % 2 === 0 ? 'zoa_1' : 'zoa_other', userId: `u${i}`, accountId: i % 3 === 0 ? 'acct-A' : 'acct-B' })
    ;(i % 2 === 0 ? mine : others).push(record)
  }
  // The same Zoom user connected to the other app too: never shown for zoa_1.
  const u0Elsewhere = attendee.addConnection({ appId: 'zoa_other', userId: 'u0', accountId: 'acct-A' })
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: bots
    secretToken: x
    destinations:
      - { type: attendee, appId: zoa_1, baseUrl: "${attendee.url}", apiKey: "\${ATT_KEY}" }
`)
  const env = { CONFIG_FILE: file, ATT_KEY: 'att-key' }
  const ids = (stdout: string): string[] => (JSON.parse(stdout) as Array<{ id: string }>).map(c => c.id)
  // The command in this process (spawning one per call is slow on a shared machine); the binary runs once below.
  const load = configLoader(env)
  const run = async (...args: string[]): Promise<{ status: number, stdout: string }> => {
    let stdout = ''
    try {
      return { status: await runProviderRecords(ATTENDEE_CONNECTIONS, args, load, text => { stdout += text }), stdout }
    } catch (err) {
      if (err instanceof CliError) return { status: err.exitCode, stdout: err.message }
      throw err
    }
  }

  const list = await run('list', '--json')
  t.equal(list.status, 0)
  t.same(ids(list.stdout), mine.map(c => c.id).reverse(), 'this app\'s 15 connections from both pages, newest first')
  t.same(attendee.requests.filter(r => r.method === 'GET').map(r => r.query.has('cursor')), [false, true], 'followed next to the second page')

  const byAccount = await run('list', '--account-id', 'acct-A', '--json')
  t.same(ids(byAccount.stdout), mine.filter(c => c.account_id === 'acct-A').map(c => c.id).reverse(), 'acct-A across both pages')
  t.equal((await run('list', '--account-id', 'acct-A', '--user-id', 'u2')).stdout, '(none)\n', 'u2 is in acct-B')
  const table = await run('list', '--user-id', 'u4')
  t.match(table.stdout, /^ID\s+USER_ID\s+ACCOUNT_ID\s+STATE\s+METADATA\s+CREATED_AT\n/)
  t.match(table.stdout, new RegExp(`${mine[2]?.id ?? '-'}\\s+u4\\s+acct-B\\s+connected\\s+-\\s+2026-`))

  const show = await run('show', mine[1]?.id ?? '', '--json')
  t.equal(show.status, 0)
  t.match(JSON.parse(show.stdout), { id: mine[1]?.id, zoom_oauth_app_id: 'zoa_1', user_id: 'u2', account_id: 'acct-B', state: 'connected' })
  t.same(await run('show', others[0]?.id ?? ''), { status: 3, stdout: `connection ${others[0]?.id ?? ''} not found` }, 'another app\'s connection is not this app\'s')
  t.equal((await run('show', 'zoc_missing')).status, 3)

  const target = mine[3]?.id ?? ''
  const del = await run('delete', target, 'zoc_missing', '--json')
  t.equal(del.status, 0)
  t.same(JSON.parse(del.stdout), [{ id: target, result: 'deleted' }, { id: 'zoc_missing', result: 'gone' }], '200 is deleted, 404 is gone')
  t.notOk(attendee.connections.has(target))
  t.equal(attendee.connections.size, 30)
  t.ok(attendee.requests.every(r => r.headers.authorization === 'Token att-key'))
  t.equal((await run('list', '--app', 'nope')).status, 64)

  const byUser = await runCli(['attendee', 'connections', 'list', '--user-id', 'u0', '--app', 'bots', '--json'], env)
  t.equal(byUser.status, 0, byUser.stderr)
  t.same(ids(byUser.stdout), [mine[0]?.id], 'zoom-relay itself: u0 from the second page, not its connection of the other app')
  t.notOk(ids(byUser.stdout).includes(u0Elsewhere.id))
})
