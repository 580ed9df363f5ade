import { tempFile } from '../helpers/temp-file.js'
import t from 'tap'
import { runCli, runCliInProcess } from '../helpers/cli.js'
import { FakeZoom, startFakeRecall } from '../helpers/fake-providers.js'
import { RECALL_APP_ID } from '../helpers/relay.js'

const API_KEY = 'cli-recall-key'

t.test('zoom-relay recall credentials list|show|delete against a Recall stand-in', async t => {
  const zoom = new FakeZoom()
  const recall = await startFakeRecall({ apiKey: API_KEY, appId: RECALL_APP_ID, zoom })
  t.teardown(async () => { await recall.close() })
  const env = { ZOOM_WEBHOOK_SECRET_TOKEN: 's', RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: recall.url, RECALL_API_KEY: API_KEY }
  const a1 = recall.addCredential({ accountId: 'acct-A', userId: 'u1' })
  const a2 = recall.addCredential({ accountId: 'acct-A', userId: 'u2' })
  const b1 = recall.addCredential({ accountId: 'acct-B', userId: 'u3' })
  recall.addCredential({ accountId: 'acct-A', userId: 'u9', appId: 'some-other-app' })

  const all = await runCli(['recall', 'credentials', 'list', '--json'], env)
  t.equal(all.status, 0, all.stderr)
  t.same((JSON.parse(all.stdout) as Array<{ id: string }>).map(c => c.id).sort(), [a1.id, a2.id, b1.id].sort(), 'every page of this app\'s credentials (pages of 2)')

  const table = await runCli(['recall', 'credentials', 'list', '--account-id', 'acct-A'], env)
  t.equal(table.status, 0)
  t.match(table.stdout, /^ID\s+STATUS\s+ACCOUNT_ID\s+USER_ID\s+CREATED_AT\n/)
  t.equal(table.stdout.trim().split('\n').length, 3, 'header + two credentials of acct-A')
  t.notMatch(table.stdout, b1.id)

  const show = await runCli(['recall', 'credentials', 'show', a1.id, '--json'], env)
  t.equal(show.status, 0)
  t.match(JSON.parse(show.stdout), { id: a1.id, account_id: 'acct-A', user_id: 'u1' })
  const missing = await runCli(['recall', 'credentials', 'show', 'no-such-id'], env)
  t.equal(missing.status, 3)
  t.match(missing.stderr, /credential no-such-id not found/)

  const deleted = await runCli(['recall', 'credentials', 'delete', a1.id, 'already-gone', '--json'], env)
  t.equal(deleted.status, 0)
  t.same(JSON.parse(deleted.stdout), [{ id: a1.id, result: 'deleted' }, { id: 'already-gone', result: 'gone' }])
  t.notOk(recall.credentials.has(a1.id))
  t.ok(recall.requests.every(r => r.headers.authorization === `Token ${API_KEY}`), 'the app\'s key on every call')

  recall.force({ status: 500, body: { detail: 'down' } }, { status: 500 }, { status: 500 }, { status: 500 })
  const failed = await runCli(['recall', 'credentials', 'list'], { ...env, PROVIDER_API_RETRIES: '3' })
  t.equal(failed.status, 1, 'API failure: exit 1')
  t.match(failed.stderr, /answered 500/)
  t.notMatch(failed.stderr + failed.stdout, API_KEY, 'the key is never printed')

  const help = await runCli(['recall', 'credentials', '--help'], env)
  t.equal(help.status, 0)
  t.match(help.stdout, /Usage: zoom-relay recall credentials <list\|show\|delete>/)
  const badAction = await runCli(['recall', 'credentials', 'purge'], env)
  t.equal(badAction.status, 64)
  const badOption = await runCli(['recall', 'credentials', 'list', '--colour'], env)
  t.equal(badOption.status, 64)
  t.match(badOption.stderr, /Unknown option '--colour'/)
  const noKey = await runCli(['recall', 'credentials', 'list'], { ...env, RECALL_API_KEY: '' })
  t.equal(noKey.status, 64)
  t.match(noKey.stderr, /no recall destination with an API key.*RECALL_API_KEY/)
})

t.test('provider commands need only the chosen destination and its API key, not the Zoom secrets', async t => {
  const zoom = new FakeZoom()
  const recall = await startFakeRecall({ apiKey: API_KEY, appId: RECALL_APP_ID, zoom })
  t.teardown(async () => { await recall.close() })
  const credential = recall.addCredential({ accountId: 'acct-A', userId: 'u1' })
  const ids = (stdout: string): string[] => (JSON.parse(stdout) as Array<{ id: string }>).map(c => c.id)

  const envOnly = await runCliInProcess(['recall', 'credentials', 'list', '--json'], { RECALL_ZOOM_OAUTH_APP_ID: RECALL_APP_ID, RECALL_BASE_URL: recall.url, RECALL_API_KEY: API_KEY })
  t.equal(envOnly.status, 0, `no ZOOM_WEBHOOK_SECRET_TOKEN: ${envOnly.stderr}`)
  t.same(ids(envOnly.stdout), [credential.id])

  // Another app's variables and this app's Zoom secret are unset: not needed here.
  const file = tempFile(t, 'apps.yaml', `apps:
  - name: sales
    secretToken: \${UNSET_SALES_SECRET}
    destinations:
      - { type: recall, appId: ${RECALL_APP_ID}, baseUrl: "${recall.url}", apiKey: "\${CLI_RECALL_KEY}" }
  - name: other
    secretToken: \${UNSET_OTHER_SECRET}
    destinations:
      - { type: http, url: "\${UNSET_OTHER_URL}" }
`)
  const fromFile = await runCliInProcess(['recall', 'credentials', 'list', '--json'], { CONFIG_FILE: file, CLI_RECALL_KEY: API_KEY })
  t.equal(fromFile.status, 0, fromFile.stderr)
  t.same(ids(fromFile.stdout), [credential.id])
  const keyUnset = await runCliInProcess(['recall', 'credentials', 'list', '--app', 'sales'], { CONFIG_FILE: file })
  t.equal(keyUnset.status, 78, 'the chosen destination\'s own key is needed')
  t.match(keyUnset.stderr, /CONFIG_FILE apps\[0\]\.destinations\[0\]\.apiKey refers to \$\{CLI_RECALL_KEY\}, which is not set/)
  t.notMatch(keyUnset.stderr, /UNSET_OTHER|UNSET_SALES_SECRET/, 'nothing about what the command does not use')
})
