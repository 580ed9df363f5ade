// The Dockerfile, read as instructions (this machine has no Docker engine to build it).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'

interface Instruction { keyword: string, args: string }
interface Stage { from: string, name?: string, instructions: Instruction[] }

/** Instructions per stage, continuation lines joined and comments dropped. */
function stages (dockerfile: string): Stage[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const result: Stage[] = []
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (keyword.toUpperCase() === 'FROM') {
      const [from = '', as, name] = args.split(/\s+/)
      result.push({ from, ...(as?.toUpperCase() === 'AS' && name !== undefined ? { name } : {}), instructions: [] })
    } else {
      result.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args })
    }
  }
  return result
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const [build, final, ...more] = stages(dockerfile)
const all = (stage: Stage | undefined, keyword: string): string[] => (stage?.instructions ?? []).filter(i => i.keyword === keyword).map(i => i.args)
const json = (args: string | undefined): unknown => JSON.parse(args ?? 'null')

t.test('two stages on Node 24 LTS (bookworm-slim)', async t => {
  t.equal(more.length, 0, 'exactly two stages')
  t.equal(build?.from, 'node:24-bookworm-slim')
  t.equal(build?.name, 'build')
  t.equal(final?.from, 'node:24-bookworm-slim')
})

t.test('build stage: npm ci with dev dependencies, then npm run build', async t => {
  const runs = all(build, 'RUN').join('\n')
  t.match(runs, /npm ci(?! --omit)/)
  t.match(runs, /npm run build/)
  t.ok(all(build, 'COPY').some(args => /package-lock\.json/.test(args)), 'the lock file is copied (npm ci needs it)')
})

t.test('final stage: production dependencies, dist only, tini, non-root, no Redis, no curl', async t => {
  const runs = all(final, 'RUN').join('\n')
  t.match(runs, /npm ci --omit=dev/)
  t.match(runs, /apt-get install[^\n]*\btini\b/, 'tini from Debian')
  t.notMatch(runs, /redis|curl|wget/, 'no redis-server (REDIS_URL is expected), no curl or wget')
  t.ok(all(final, 'ENV').includes('NODE_ENV=production'))
  t.ok(all(final, 'COPY').some(args => /^--from=build \/app\/dist\S* \.\/dist/.test(args)), 'compiled relay from the build stage')
  t.notOk(all(final, 'COPY').some(args => /\bsrc\b|node_modules/.test(args) && !args.startsWith('--from=build /app/dist')), 'no sources, no dev node_modules')
  const user = all(final, 'USER').at(-1)
  t.equal(user, 'node', 'runs as the image\'s node user (uid 1000, which the Helm chart sets as runAsUser)')
  t.same(all(final, 'EXPOSE').join(' ').split(' ').filter(p => ['8080', '9464'].includes(p)).sort(), ['8080', '9464'], 'exposes 8080 and 9464')
})

t.test('entrypoint: tini as PID 1 running the CLI, role as the command (all by default)', async t => {
  t.same(json(all(final, 'ENTRYPOINT').at(-1)), ['tini', '--', 'node', 'dist/src/cli/main.js'])
  t.same(json(all(final, 'CMD').at(-1)), ['all'])
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
  t.equal(pkg.bin['zoom-relay'], 'dist/src/cli/main.js', 'the same entry file as the package\'s bin')
  t.ok(existsSync(join(ROOT, 'src/cli/main.ts')), 'which tsc builds from src/cli/main.ts')
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string, rootDir: string } }
  t.match(tsconfig.compilerOptions, { outDir: 'dist', rootDir: '.' }, 'into dist/src/')
})

t.test('HEALTHCHECK: /healthz on the metrics port, with node (the image has no curl)', async t => {
  const healthcheck = all(final, 'HEALTHCHECK').at(-1) ?? ''
  const command = json(healthcheck.slice(healthcheck.indexOf('CMD') + 3).trim()) as string[]
  t.equal(command[0], 'node')
  t.equal(command[1], '-e')
  t.match(command[2], /fetch\('http:\/\/127\.0\.0\.1:'\+\(process\.env\.METRICS_PORT\|\|9464\)\+'\/healthz'/)
  t.match(healthcheck, /--timeout=\d+s/)
})

t.test('.dockerignore keeps secrets, state and build output out of the context, and the sources in', async t => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map(l => l.trim())
  for (const entry of ['node_modules', 'dist', '.git', '.data', '.tap', 'coverage', '.env', 'test']) t.ok(ignore.includes(entry), `ignores ${entry}`)
  for (const needed of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
    t.notOk(ignore.includes(needed), `keeps ${needed} (COPY needs it)`)
    t.ok(existsSync(join(ROOT, needed)), `${needed} exists`)
  }
  const copied = [...all(build, 'COPY'), ...all(final, 'COPY')].filter(a => !a.startsWith('--from')).flatMap(a => a.split(/\s+/).slice(0, -1))
  t.same(copied.filter(path => !existsSync(join(ROOT, path))), [], 'every COPY source exists')
})

t.test('zoom-relay is on the PATH: an executable link to the CLI, made before USER drops root', async t => {
  const instructions = final?.instructions ?? []
  const runIndex = instructions.findIndex(i => i.keyword === 'RUN' && /ln -s \/app\/dist\/src\/cli\/main\.js \/usr\/local\/bin\/zoom-relay/.test(i.args))
  t.ok(runIndex >= 0, 'symlink /usr/local/bin/zoom-relay → /app/dist/src/cli/main.js (on the node image\'s PATH)')
  t.match(instructions[runIndex]?.args, /chmod 0?755 \/app\/dist\/src\/cli\/main\.js/, 'the CLI file is executable')
  const copyIndex = instructions.findIndex(i => i.keyword === 'COPY' && i.args === '--from=build /app/dist/src ./dist/src')
  t.ok(copyIndex >= 0 && copyIndex < runIndex, 'after the compiled CLI is copied')
  t.ok(runIndex < instructions.findIndex(i => i.keyword === 'USER'), 'while still root (/usr/local/bin)')
  t.match(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'main.ts (and so main.js) starts with a node shebang')
})

t.test('the compose demo\'s stand-in destination ships in the image, compiled', async t => {
  t.ok(all(final, 'COPY').includes('--from=build /app/dist/scripts/demo-sink.js /app/dist/scripts/demo-sink.js.map ./dist/scripts/'))
  t.ok(existsSync(join(ROOT, 'scripts/demo-sink.ts')), 'tsconfig.build.json compiles scripts/ into dist/scripts/')
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] }
  t.ok(build.include.includes('scripts'))
})
