import t from 'tap'
import { CliError } from '../../../src/cli/cli-error.js'
import { deadLettersCommand } from '../../../src/cli/commands/dead-letters.js'
import { configLoader } from '../../../src/cli/commands/command.js'

// Redis on a port nothing listens on: these refusals must come before any connection is made.
const config = configLoader({ ZOOM_WEBHOOK_SECRET_TOKEN: 'zoom-secret', RECALL_ZOOM_OAUTH_APP_ID: 'app-1', REDIS_URL: 'redis://127.0.0.1:1' })

async function exitOf (args: string[]): Promise<{ code: number, message: string }> {
  try {
    return { code: await deadLettersCommand(args, config, () => {}), message: '' }
  } catch (err) {
    if (!(err instanceof CliError)) throw err
    return { code: err.exitCode, message: err.message }
  }
}

t.test('purge and replay without any filter need --all (exit 64, before touching Redis)', async t => {
  for (const args of [['purge'], ['purge', '--yes'], ['purge', '--yes', '--limit', '5'], ['replay'], ['replay', '--limit', '5', '--json']]) {
    const { code, message } = await exitOf(args)
    t.equal(code, 64, `${args.join(' ')}: exit 64`)
    t.match(message, new RegExp(`^${args[0] ?? ''} without a filter would ${args[0] ?? ''} every dead letter of every queue\\. .*--all to mean it\\.$`))
  }
  t.match((await exitOf(['--help'])).code, 0)
})

t.test('a filter, an id, --all or a dry run gets past the rule (and then needs Redis)', async t => {
  for (const args of [['purge', '--status', '400', '--yes'], ['purge', '--all', '--yes'], ['replay', 'some-id'], ['replay', '--all'], ['replay', '--dry-run'], ['replay', '--since', '2d']]) {
    const { code, message } = await exitOf(args)
    t.equal(code, 1, `${args.join(' ')}: past the rule, stopped by the unreachable Redis`)
    t.match(message, /not reachable/)
  }
})
