// LICENSE and CHANGELOG.md agree with package.json and the chart.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'
import { CHART, readYaml } from '../helpers/deploy.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string, license: string }

t.test('LICENSE is the MIT licence package.json declares', async t => {
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8')
  t.equal(pkg.license, 'MIT')
  t.match(license, /^MIT License\n\nCopyright \(c\) 2026 zoom-webhook-relay contributors\n/)
  t.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/)
})

t.test('CHANGELOG.md: Keep a Changelog, Unreleased first, the newest release is package.json\'s and the chart\'s version', async t => {
  const changelog = readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')
  t.match(changelog, /keepachangelog\.com/)
  const headings = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map(m => ({ version: m[1], date: m[2] }))
  t.equal(headings[0]?.version, 'Unreleased')
  t.same(headings.at(-1), { version: '0.1.0', date: '2026-11-25' }, 'history starts at 0.1.0')
  const released = headings.filter(h => h.version !== 'Unreleased')
  t.ok(released.every(h => /^\d+\.\d+\.\d+$/.test(h.version ?? '') && h.date !== undefined), 'every release has a SemVer version and a date')
  t.equal(released[0]?.version, pkg.version, 'the newest release is package.json\'s version')
  const chart = readYaml<{ version: string, appVersion: string }>(join(CHART, 'Chart.yaml'))
  t.same([chart.version, chart.appVersion], [pkg.version, pkg.version], 'and the chart\'s')
  const sections = [...changelog.matchAll(/^### (.+)$/gm)].map(m => m[1])
  t.same(sections.filter(s => !['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(s ?? '')), [], 'only Keep a Changelog section names')
})
