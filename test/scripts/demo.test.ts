import { spawnSync } from 'node:child_process'
import t from 'tap'

const ROOT = new URL('../..', import.meta.url).pathname

t.test('npm run demo shows a validation answered, events delivered byte for byte, a forgery refused', async t => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ZOOM_|RECALL_|REDIS_|CONFIG_FILE|NODE_OPTIONS)/.test(k)))
  const run = spawnSync('npm', ['run', '--silent', 'demo'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /URL validation\s+200\s+\{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"[0-9a-f]{64}"\}/)
  t.match(run.stdout, /forged \(wrong secret\)\s+401/)
  t.equal(run.stdout.match(/body identical=true {2}signature valid=true/g)?.length, 2)
  t.match(run.stdout, /2 of 2 accepted events delivered/)
  t.notMatch(run.stdout, /authorization/, 'the Zoom→relay credential is not forwarded')
})
