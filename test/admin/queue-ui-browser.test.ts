import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { request } from 'undici'
import { eventually, openQueue } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { SECRET, startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'
import { meetingCreated, zoomHeaders } from '../helpers/zoom.js'

const CHROMIUM = '/usr/bin/chromium'
const ADMIN_TOKEN = 'browser-admin-token-0123456789'

t.test('in a real browser: sign in, see the dead-lettered job (secrets redacted), retry it, see it delivered; no access without signing in', {
  skip: existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)'
}, async t => {
  const redis = await startTestRedis()
  let accept = false
  const sink = await startSink(() => ({ status: accept ? 200 : 400, body: '{"detail":"not yet"}' }))
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: sink.url, env: { ADMIN_TOKEN, ADMIN_PORT: '0' } })
  const { queue, close } = openQueue(redis.url)
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close(); await relay.close(); await close(); await sink.close(); await redis.stop() })
  const admin = relay.adminUrl ?? ''

  const body = meetingCreated(4242, { object_password: 'not-for-your-eyes' }).replace('"type":2', '"type":2,"password":"s3cr3t-pass"')
  await (await request(relay.webhookUrl(), { method: 'POST', headers: zoomHeaders(SECRET, body), body })).body.dump()
  await eventually(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'dead-lettered')
  const [failed] = await queue.getFailed()

  // Not signed in: every page leads to the login form.
  const anonymous = await browser.newPage()
  await anonymous.goto(`${admin}/ui`)
  t.match(anonymous.url(), /\/login$/, 'redirected to the login form')
  t.match(await anonymous.textContent('body'), /Admin token/)
  t.equal((await anonymous.request.get(`${admin}/ui/api/queues`)).status(), 401, 'the UI\'s API refuses without a session')

  const page = await browser.newPage()
  await page.goto(`${admin}/login`)
  await page.fill('input[name="token"]', 'wrong-token-wrong-token')
  await page.click('button[type="submit"]')
  t.match(await page.textContent('body'), /That is not the admin token/)
  await page.fill('input[name="token"]', ADMIN_TOKEN)
  await page.click('button[type="submit"]')
  await page.waitForURL(/\/ui/)
  await page.waitForSelector('text=zoom-webhook-relay', { timeout: 20_000 })
  t.pass('signed in to the queue UI')

  const queuePage = `${admin}/ui/queue/${encodeURIComponent('{default.recall}')}?status=failed`
  await page.goto(queuePage)
  await page.waitForSelector(`text=${failed?.id ?? ''}`, { timeout: 20_000 })
  // The error panel renders after the job card: wait for it rather than read too early.
  await page.waitForSelector('text=/answered 400/', { timeout: 20_000 })
  const failedText = await page.textContent('body') ?? ''
  t.match(failedText, /answered 400/, 'the dead letter and why')
  t.notMatch(failedText, /s3cr3t-pass/, 'the meeting password is not shown')

  const apiView = await page.request.get(`${admin}/ui/api/queues?activeQueue=${encodeURIComponent('{default.recall}')}&status=failed&page=1`)
  t.equal(apiView.status(), 200)
  const raw = await apiView.text()
  t.match(raw, /\[redacted\]/, 'job data goes through the redactor')
  t.notMatch(raw, /s3cr3t-pass/)

  // From the UI's own origin, bull-board's destructive actions are refused all the same.
  const cleanStatus = await page.evaluate(async (url: string) => (await fetch(url, { method: 'PUT' })).status, `${admin}/ui/api/queues/${encodeURIComponent('{default.recall}')}/clean/failed`)
  t.equal(cleanStatus, 403, '"Clean all" is turned off')

  // Another site (another port of the same host: same-site, so even SameSite=Strict sends the cookie) posts a form.
  const evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<form id="f" method="post" action="${admin}/api/dead-letters/purge"><input name="all" value="true"></form><script>document.getElementById('f').submit()</script>`)
  })
  await new Promise<void>(resolve => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise(resolve => evil.close(resolve)) })
  const attacked = page.waitForResponse(res => res.url().endsWith('/api/dead-letters/purge'))
  await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
  const purgeAnswer = await attacked
  t.equal(purgeAnswer.status(), 403, 'the cross-site form POST carrying the session cookie is refused')
  t.equal((await queue.getJobCounts('failed')).failed, 1, 'the dead letter is still there')
  await page.goto(queuePage)
  await page.waitForSelector(`text=${failed?.id ?? ''}`, { timeout: 20_000 })

  accept = true
  await page.getByRole('button', { name: 'Retry all' }).click()
  await page.getByRole('button', { name: 'Confirm' }).click()
  await eventually(async () => (await queue.getJobCounts('completed')).completed === 1, 20_000, 'retried and delivered')
  t.equal(sink.received.at(-1)?.sha256, sha256(body), 'delivered with the original bytes')
  await page.goto(`${admin}/ui/queue/${encodeURIComponent('{default.recall}')}?status=completed`)
  await page.waitForSelector(`text=${failed?.id ?? ''}`, { timeout: 20_000 })
  t.pass('the job shows as completed in the UI')
})
