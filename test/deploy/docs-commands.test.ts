// The kubectl commands of README.md and docs/*.md name the objects the Helm chart really creates, and run
// CLI commands the image really has. Without helm here, names come from a model of the chart's naming
// helper, which is checked against _helpers.tpl and the templates first; with helm, against `helm template`.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'
import { CHART, onPath, readYaml, run } from '../helpers/deploy.js'

const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8')
const chartName = readYaml<{ name: string }>(join(CHART, 'Chart.yaml')).name

/** zwr.fullname with no nameOverride/fullnameOverride (what the docs assume). */
function fullname (release: string): string {
  const cut = (s: string): string => s.slice(0, 48).replace(/-+$/, '')
  return cut(release.includes(chartName) ? release : `${release}-${chartName}`)
}

const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]
  .map(path => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }))
/** Lines of a shell command, continuation lines joined. */
const commandLines = (text: string): string[] => text.replace(/\\\n\s*/g, ' ').split('\n')

t.test('the model of zwr.fullname matches _helpers.tpl, and the templates name their objects with it', async t => {
  const define = /\{\{- define "zwr\.fullname" -\}\}([\s\S]*?)\{\{- end -\}\}\n\n/.exec(helpers)?.[1] ?? ''
  t.match(define, /\$name := default \.Chart\.Name \.Values\.nameOverride/)
  t.match(define, /if contains \$name \.Release\.Name[\s\S]*\.Release\.Name \| trunc 48 \| trimSuffix "-"/, 'a release name containing the chart name is used as is')
  t.match(define, /printf "%s-%s" \.Release\.Name \$name \| trunc 48 \| trimSuffix "-"/, 'otherwise <release>-<chart name>, cut to 48')
  t.match(helpers, /kind: Deployment\nmetadata:\n {2}name: \{\{ include "zwr\.fullname" \$root \}\}-\{\{ \$component \}\}/, 'Deployments: <fullname>-web, <fullname>-worker')
  t.match(readFileSync(join(CHART, 'templates/web-deployment.yaml'), 'utf8'), /"component" "web"/)
  t.match(readFileSync(join(CHART, 'templates/worker-deployment.yaml'), 'utf8'), /"component" "worker"/)
  t.match(readFileSync(join(CHART, 'templates/service.yaml'), 'utf8'), /kind: Service\nmetadata:\n {2}name: \{\{ include "zwr\.fullname" \. \}\}\n/, 'Service: <fullname>')
  t.equal(fullname('relay'), 'relay-zoom-webhook-relay')
  t.equal(fullname('zoom-webhook-relay'), 'zoom-webhook-relay')
})

t.test('every kubectl command in the docs names a Deployment or Service of the release the docs install', async t => {
  const releases = new Set(docs.flatMap(d => [...d.text.matchAll(/helm install (\S+) helm\/zoom-webhook-relay/g)].map(m => m[1] as string)))
  t.same([...releases], ['relay'], 'one release name throughout the docs')
  const name = fullname('relay')
  const known = new Map([['deploy', [`${name}-web`, `${name}-worker`]], ['svc', [name]]])
  let checked = 0
  for (const { path, text } of docs) {
    for (const line of commandLines(text).filter(l => /\bkubectl\b/.test(l))) {
      for (const [, kind, object] of line.matchAll(/\b(deploy|deployment|svc|service)\/([a-z0-9][a-z0-9.-]*)/g)) {
        const kindKey = kind?.startsWith('d') === true ? 'deploy' : 'svc'
        t.ok(known.get(kindKey)?.includes(object as string), `${path}: ${kind}/${object} is one of ${known.get(kindKey)?.join(', ')}`)
        checked++
      }
      // Service URLs given to send-test-event: the chart's Service on its default port (80).
      for (const [, host] of line.matchAll(/--url http:\/\/([a-z0-9.-]+)(?::80)?\//g)) {
        t.equal(host, name, `${path}: --url ${host} is the chart's Service`)
      }
    }
  }
  t.ok(checked >= 3, `found the kubectl commands (${checked})`)
  t.equal(readYaml<{ service: { port: number } }>(join(CHART, 'values.yaml')).service.port, 80, 'the Service listens on 80 by default')
})

t.test('every `kubectl exec … -- zoom-relay <command>` runs a command the CLI has, on the image\'s PATH', async t => {
  const main = readFileSync(join(ROOT, 'src/cli/cli.ts'), 'utf8')
  const table = main.slice(main.indexOf('const COMMANDS'), main.indexOf('\n}\n', main.indexOf('const COMMANDS')))
  const commands = new Set(['web', 'worker', 'all', '--help', ...[...table.matchAll(/^ {2}'?([a-z-]+)(?: [a-z]+)?'?: /gm)].map(m => m[1] as string)])
  t.ok(commands.has('send-test-event') && commands.has('status'), `commands read from cli.ts: ${[...commands].join(', ')}`)
  let checked = 0
  for (const { path, text } of docs) {
    for (const line of commandLines(text).filter(l => /\bkubectl\b.*\bexec\b/.test(l))) {
      const command = / -- zoom-relay ([a-z-]+)/.exec(line)?.[1]
      t.ok(command !== undefined, `${path}: exec runs zoom-relay (${line.trim().slice(0, 80)}…)`)
      t.ok(commands.has(command ?? ''), `${path}: zoom-relay ${command} exists`)
      checked++
    }
  }
  t.ok(checked >= 2, `found the exec commands (${checked})`)
  t.match(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), /ln -s \/app\/dist\/src\/cli\/main\.js \/usr\/local\/bin\/zoom-relay/, 'zoom-relay is on the image\'s PATH')
})

t.test('helm template renders the names the docs use', { skip: onPath('helm') ? false : 'helm is not installed' }, async t => {
  const rendered = run('helm', ['template', 'relay', CHART, '--set', 'secrets.zoomWebhookSecretToken=x', '--set', 'relay.recallZoomOauthAppId=y'])
  t.equal(rendered.status, 0, rendered.stderr)
  for (const object of ['Deployment relay-zoom-webhook-relay-web', 'Deployment relay-zoom-webhook-relay-worker', 'Service relay-zoom-webhook-relay']) {
    const [kind, name] = object.split(' ')
    t.match(rendered.stdout, new RegExp(`kind: ${kind as string}\\nmetadata:\\n {2}name: ${name as string}\\n`), object)
  }
})
