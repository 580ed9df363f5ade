import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import t from 'tap'
import { historyAppsFile, openHistory, SALES_SECRET, writeHistoryEvent, writeScenario, zoomEvent } from '../helpers/history-fixtures.js'
import { eventually } from '../helpers/queue.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { startTestRelay } from '../helpers/relay.js'
import { sha256, startSink } from '../helpers/sink.js'

const CHROMIUM = '/usr/bin/chromium'
const ADMIN_TOKEN = 'browser-events-token-0123456789'

t.test('the Events page in a real browser: filter, an event\'s attempts, replay to one destination; escaped values; no cross-site replay', {
  skip: existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)'
}, async t => {
  const redis = await startTestRedis()
  const crm = await startSink()
  const warehouse = await startSink()
  const configFile = historyAppsFile(t, { crm: crm.url, warehouse: warehouse.url })
  const relay = await startTestRelay({ redisUrl: redis.url, recallBaseUrl: 'http://127.0.0.1:9', env: { CONFIG_FILE: configFile, ADMIN_TOKEN, ADMIN_PORT: '0' } })
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close(); await relay.close(); await crm.close(); await warehouse.close(); await redis.stop() })
  const { queues } = openHistory(t, redis, configFile)
  const admin = relay.adminUrl ?? ''
  const base = Date.now() - 60_000
  const events = await writeScenario(redis.client(), base)
  const hostile = '<img src=x onerror="window.hacked=1">'
  const odd = await writeHistoryEvent(redis.client(), { app: 'sales', secret: SALES_SECRET, id: `${base + 9000}-0`, body: zoomEvent('meeting.updated', hostile, { id: 555 }), deliveries: { crm: { record: { s: 'pending', n: 0 } }, warehouse: { record: { s: 'pending', n: 0 } } } })

  const anonymous = await browser.newPage()
  await anonymous.goto(`${admin}/events`)
  t.match(anonymous.url(), /\/login$/, 'not signed in: the login form')

  const page = await browser.newPage()
  await page.goto(`${admin}/login`)
  await page.fill('input[name="token"]', ADMIN_TOKEN)
  await page.click('button[type="submit"]')
  await page.waitForURL(/\/ui/)
  // From the queue UI's menu to the Events page.
  await page.click('header button[aria-haspopup="menu"]')
  await page.getByRole('menuitem', { name: 'Events' }).click()
  await page.waitForURL(/\/events$/)
  t.pass('the queue UI\'s menu leads to the Events page')
  const rows = async (): Promise<string[]> => await page.locator('tbody tr').evaluateAll(trs => trs.map(tr => tr.getAttribute('data-id') ?? ''))
  t.same(await rows(), [odd.publicId, ...['s6', 's5', 's4', 'p2', 's3', 's2', 'p1', 's1'].map(n => events[n as keyof typeof events].publicId)], 'every event, newest first')
  t.match(await page.textContent(`tr[data-id="${odd.publicId}"]`), hostile, 'a hostile value is shown as text')
  t.equal(await page.locator('img').count(), 0, 'and never becomes markup')
  t.notOk(await page.evaluate(() => (window as unknown as { hacked?: number }).hacked), 'nor runs')

  // Filter with the form.
  await page.selectOption('select[name="app"]', 'sales')
  await page.selectOption('select[name="state"]', 'pending')
  await page.click('form.filters button[type="submit"]')
  await page.waitForURL(/state=pending/)
  t.same(await rows(), [odd.publicId, events.s4.publicId, events.s2.publicId], 'filtered by app and state')
  t.match(await page.textContent(`tr[data-id="${events.s4.publicId}"]`), /crm: pending.*warehouse: delivered/s, 'per-destination states')
  t.equal(await page.inputValue('select[name="state"]'), 'pending', 'the form keeps the filters')

  // An event's detail: every attempt.
  await page.click(`a[href="/events/sales/${events.s4.publicId.split('/')[1] ?? ''}"]`)
  await page.waitForSelector('h1:has-text("Event sales/")')
  const attempts = await page.locator('section[data-destination="warehouse"] table.attempts tbody tr').allTextContents()
  t.equal(attempts.length, 2, 'both attempts to warehouse')
  t.match(attempts[0], /503.*15.*answered 503/s)
  t.match(attempts[1], /200.*11/s)
  t.match(await page.textContent('body'), sha256(events.s4.body), 'the body\'s SHA-256')
  t.notMatch(await page.textContent('body'), /x-zm-signature/, 'never the signature')

  // Replay s1 to warehouse only, from its page.
  await page.goto(`${admin}/events/sales/${events.s1.publicId.split('/')[1] ?? ''}`)
  await page.selectOption('select[name="destination"]', 'warehouse')
  await page.check('input[name="dryRun"]')
  await page.click('button:has-text("Replay")')
  t.match(await page.textContent('[role=status]'), /Dry run: would replay 1 event\(s\) to warehouse; nothing was sent/)
  await page.goBack()
  await page.selectOption('select[name="destination"]', 'warehouse')
  await page.uncheck('input[name="dryRun"]')
  await page.click('button:has-text("Replay")')
  t.match(await page.textContent('[role=status]'), /Replayed 1 event\(s\) to warehouse \(job replay-/)
  await warehouse.waitFor(1)
  t.equal(warehouse.received[0]?.sha256, sha256(events.s1.body), 'the original bytes reach warehouse')
  t.equal(warehouse.received[0]?.headers['x-zm-signature'], events.s1.headers['x-zm-signature'], 'with Zoom\'s signature')
  const warehouseQueue = queues.all().find(q => q.destination.name === 'warehouse')?.queue
  await eventually(async () => (await warehouseQueue?.getJobCounts('completed'))?.completed === 1, 20_000, 'delivered')
  t.equal(crm.received.length, 0, 'crm got nothing')
  await page.click('a:has-text("Back to the event")')
  t.match(await page.textContent('section[data-destination="warehouse"]'), /1 replay\(s\)/, 'the replay is counted on the event\'s page')

  // A refusal is a page that says why.
  await page.goto(`${admin}/events/sales/${events.s3.publicId.split('/')[1] ?? ''}`)
  await page.selectOption('select[name="destination"]', 'crm')
  const refused = page.waitForResponse(res => res.url().endsWith('/events/replay'))
  await page.click('button:has-text("Replay")')
  t.equal((await refused).status(), 409)
  t.match(await page.textContent('[role=alert]'), /ZR_REPLAY_FILTERED.*excludes/s)

  // Another site posts the replay form with the session cookie: refused, nothing sent.
  const evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<form id="f" method="post" action="${admin}/events/replay"><input name="ids" value="${events.s1.publicId}"><input name="destination" value="crm"></form><script>document.getElementById('f').submit()</script>`)
  })
  await new Promise<void>(resolve => evil.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise(resolve => evil.close(resolve)) })
  const attacked = page.waitForResponse(res => res.url().endsWith('/events/replay'))
  await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
  t.equal((await attacked).status(), 403, 'the cross-site form POST is refused')
  const crmQueue = queues.all().find(q => q.destination.name === 'crm')?.queue
  t.equal(Object.values(await crmQueue?.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed') ?? {}).reduce((a, b) => a + b, 0), 0, 'no job for crm')
})
