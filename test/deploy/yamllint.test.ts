// yamllint (Debian's package) over every plain-YAML deployment file, with the repository's
// .yamllint.yaml. Helm templates are not plain YAML and are excluded there.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'
import { onPath, run } from '../helpers/deploy.js'

const FILES = [
  '.yamllint.yaml',
  'docker-compose.yml',
  'deploy',
  'helm/zoom-webhook-relay/Chart.yaml',
  'helm/zoom-webhook-relay/values.yaml',
  ...readdirSync(join(ROOT, 'helm/zoom-webhook-relay/ci')).map(f => `helm/zoom-webhook-relay/ci/${f}`)
]

t.test('yamllint passes on compose, deploy/, Chart.yaml, values.yaml and ci/', { skip: onPath('yamllint') ? false : 'yamllint is not installed (Debian package yamllint; .ci/run installs it)' }, async t => {
  const lint = run('yamllint', ['--strict', '--config-file', '.yamllint.yaml', '--format', 'parsable', ...FILES])
  t.equal(lint.status, 0, `yamllint:\n${lint.stdout}${lint.stderr}`)
  // The same check catches a real problem: a duplicated key is an error.
  const dup = run('bash', ['-c', 'printf "a: 1\\na: 2\\n" | yamllint --strict --config-file .yamllint.yaml -'], ROOT)
  t.not(dup.status, 0, 'a duplicated key fails')
})
