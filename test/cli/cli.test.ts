// The command dispatcher in-process: --help of every command and subcommand, and --version, with
// no configuration at all.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT, runCliInProcess } from '../helpers/cli.js'

async function run (argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const { status, stdout, stderr } = await runCliInProcess(argv, {})
  return { code: status ?? -1, stdout, stderr }
}

const HELP: Array<[string[], RegExp]> = [
  [['--help'], /^Usage: zoom-relay \[web\|worker\|all\]/],
  [['-h'], /^Usage: zoom-relay \[web\|worker\|all\]/],
  [['help'], /^Usage: zoom-relay /],
  [['web', '--help'], /^Usage: zoom-relay /],
  [['worker', '-h'], /^Usage: zoom-relay /],
  [['all', '--help'], /^Usage: zoom-relay /],
  [['config', '--help'], /^Usage: zoom-relay /],
  [['config', 'check', '--help'], /^Usage: zoom-relay config check \[--json\]/],
  [['config', 'check', '-h'], /^Usage: zoom-relay config check/],
  [['status', '--help'], /^Usage: zoom-relay status \[--json\]/],
  [['status', '-h'], /^Usage: zoom-relay status/],
  [['dead-letters', '--help'], /^Usage: zoom-relay dead-letters/],
  [['dead-letters', 'list', '--help'], /^Usage: zoom-relay dead-letters/],
  [['dead-letters', 'replay', '-h'], /^Usage: zoom-relay dead-letters/],
  [['dead-letters', 'purge', '--help'], /^Usage: zoom-relay dead-letters/],
  [['recall', '--help'], /^Usage: zoom-relay /],
  [['recall', 'credentials', '--help'], /^Usage: zoom-relay recall credentials/],
  [['recall', 'credentials', 'list', '--help'], /^Usage: zoom-relay recall credentials/],
  [['recall', 'credentials', 'show', '-h'], /^Usage: zoom-relay recall credentials/],
  [['recall', 'credentials', 'delete', '--help'], /^Usage: zoom-relay recall credentials/],
  [['attendee', '--help'], /^Usage: zoom-relay /],
  [['attendee', 'connections', '--help'], /^Usage: zoom-relay attendee connections/],
  [['attendee', 'connections', 'list', '-h'], /^Usage: zoom-relay attendee connections/],
  [['attendee', 'connections', 'delete', '--help'], /^Usage: zoom-relay attendee connections/]
]

t.test('--help of every command and subcommand, with an empty environment: exit 0', async t => {
  for (const [argv, usage] of HELP) {
    const { code, stdout, stderr } = await run(argv)
    t.equal(code, 0, `${argv.join(' ')}: exit 0 (${stderr})`)
    t.match(stdout, usage, `${argv.join(' ')}: its usage`)
  }
  const overview = (await run(['--help'])).stdout
  for (const command of ['config check', 'status', 'dead-letters', 'recall credentials', 'attendee connections', '--version']) t.match(overview, command, `the overview names ${command}`)
})

t.test('--version and -v print package.json\'s version', async t => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-v']) {
    const { code, stdout } = await run([flag])
    t.equal(code, 0)
    t.equal(stdout, `${version}\n`, flag)
  }
})

t.test('without --help, commands still need their configuration', async t => {
  const relay = await run(['config', 'check'])
  t.equal(relay.code, 78)
  t.match(relay.stderr, /ZOOM_WEBHOOK_SECRET_TOKEN is not set/)
  const recall = await run(['recall', 'credentials', 'list'])
  t.equal(recall.code, 64, 'no recall destination with an API key: bad usage, not a missing Zoom secret')
  t.match(recall.stderr, /no recall destination with an API key/)
  t.notMatch(recall.stderr, /ZOOM_WEBHOOK_SECRET_TOKEN/)
  const bad = await run(['web', 'now'])
  t.equal(bad.code, 64)
})
