import t from 'tap'
import { RECALL_REGIONS } from '../../src/config/config.js'
import { attendeeWebhookUrl, recallRegionBaseUrl, recallWebhookUrl } from '../../src/relay/destination-url.js'

t.test('recallRegionBaseUrl: https://<region>.recall.ai for every region', async t => {
  t.strictSame(RECALL_REGIONS.map(recallRegionBaseUrl), [
    'https://us-east-1.recall.ai',
    'https://us-west-2.recall.ai',
    'https://eu-central-1.recall.ai',
    'https://ap-northeast-1.recall.ai'
  ])
  for (const region of RECALL_REGIONS) {
    const url = new URL(recallRegionBaseUrl(region))
    t.strictSame([url.protocol, url.host, url.pathname], ['https:', `${region}.recall.ai`, '/'], `${region} is a bare https origin`)
  }
})

t.test('recallWebhookUrl: <base>/api/v2/zoom-oauth-apps/<id>/webhook, no trailing slash', async t => {
  const id = '5f2c1a3e-8b7d-4c1a-9e2f-0a1b2c3d4e5f'
  t.equal(recallWebhookUrl('https://us-east-1.recall.ai', id), `https://us-east-1.recall.ai/api/v2/zoom-oauth-apps/${id}/webhook`)
  t.equal(recallWebhookUrl(recallRegionBaseUrl('eu-central-1'), 'abc'), 'https://eu-central-1.recall.ai/api/v2/zoom-oauth-apps/abc/webhook')
  t.equal(recallWebhookUrl('http://127.0.0.1:8081/prefix', 'abc'), 'http://127.0.0.1:8081/prefix/api/v2/zoom-oauth-apps/abc/webhook', 'keeps a path prefix and port')
  t.notMatch(recallWebhookUrl('https://us-east-1.recall.ai', id), /\/$/, 'no trailing slash')
})

t.test('attendeeWebhookUrl: <base>/external_webhooks/zoom/oauth_apps/<id>', async t => {
  t.equal(attendeeWebhookUrl('https://app.attendee.dev', 'zoa_abc123'), 'https://app.attendee.dev/external_webhooks/zoom/oauth_apps/zoa_abc123')
  t.equal(attendeeWebhookUrl('http://attendee.internal:8000', 'zoa_x'), 'http://attendee.internal:8000/external_webhooks/zoom/oauth_apps/zoa_x')
  t.notMatch(attendeeWebhookUrl('https://app.attendee.dev', 'zoa_1'), /\/$/, 'no trailing slash')
})

t.test('the app id is always exactly one path segment', async t => {
  const ids = ['a/b', '../../admin', 'a b', 'a?x=1', 'a#frag', '%2F', 'ünï-🎉', 'a;b', 'a@b']
  for (const id of ids) {
    for (const [name, url] of [['recall', recallWebhookUrl('https://r.example', id)], ['attendee', attendeeWebhookUrl('https://a.example', id)]] as const) {
      const parsed = new URL(url)
      const segments = parsed.pathname.split('/')
      t.equal(segments.length, name === 'recall' ? 6 : 5, `${name} ${JSON.stringify(id)}: segment count`)
      t.equal(decodeURIComponent(segments[4] ?? ''), id, `${name} ${JSON.stringify(id)}: decodes back`)
      t.equal(parsed.search + parsed.hash, '', `${name} ${JSON.stringify(id)}: no query or fragment`)
    }
  }
  t.equal(recallWebhookUrl('https://r.example', 'a/b c'), 'https://r.example/api/v2/zoom-oauth-apps/a%2Fb%20c/webhook')
  t.equal(attendeeWebhookUrl('https://a.example', '../x'), 'https://a.example/external_webhooks/zoom/oauth_apps/..%2Fx')
})
