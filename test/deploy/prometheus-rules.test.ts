import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'

const RULES = `${ROOT}deploy/prometheus`
const hasPromtool = spawnSync('promtool', ['--version']).status === 0

t.test('alert rules are valid and every alert has a firing and a quiet case (promtool test rules)', { skip: hasPromtool ? false : 'promtool is not installed (Debian package prometheus; .ci/run installs it)' }, async t => {
  const check = spawnSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: RULES, encoding: 'utf8' })
  t.equal(check.status, 0, check.stdout + check.stderr)
  t.match(check.stdout, /SUCCESS: \d+ rules found/)
  const config = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: RULES, encoding: 'utf8' })
  t.equal(config.status, 0, config.stdout + config.stderr)
  const tests = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: RULES, encoding: 'utf8' })
  t.equal(tests.status, 0, tests.stdout + tests.stderr)

  // Each alert is named in the tests both with expected alerts and with none.
  const text = readFileSync(`${RULES}/alerts.yml`, 'utf8')
  const testText = readFileSync(`${RULES}/alerts.test.yml`, 'utf8')
  const alerts = [...text.matchAll(/- alert: (\w+)/g)].map(m => m[1] as string)
  t.ok(alerts.length >= 9, `${alerts.length} alerts`)
  for (const alert of alerts) {
    const cases = [...testText.matchAll(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:( \\[\\])?`, 'g'))]
    t.ok(cases.some(c => c[1] === undefined), `${alert}: a case where it fires`)
    t.ok(cases.some(c => c[1] !== undefined), `${alert}: a case where it does not`)
  }
})
