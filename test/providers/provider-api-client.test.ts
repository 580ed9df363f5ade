import t, { type Test } from 'tap'
import { ProviderApiError } from '../../src/errors.js'
import { ProviderApiClient } from '../../src/providers/provider-api-client.js'
import { startSink, type SinkReply } from '../helpers/sink.js'

/** A client against a scripted local server, recording the pauses it asks for instead of waiting. */
async function setup (t: Test, script: SinkReply[], opts: { retries: number, retryAfterMaxMs?: number }) {
  const sink = await startSink((_req, i) => script[i] ?? { status: 200, body: '{"ok":true}' })
  const pauses: number[] = []
  const client = new ProviderApiClient({ baseUrl: sink.url, apiKey: 'k', timeoutMs: 2000, retryBaseDelayMs: 500, sleep: async ms => { pauses.push(ms) }, ...opts })
  t.teardown(async () => { await client.close(); await sink.close() })
  return { sink, client, pauses }
}

t.test('429 waits what Retry-After says (bounded); 5xx and network errors back off exponentially', async t => {
  const { sink, client, pauses } = await setup(t, [
    { status: 429, headers: { 'retry-after': '2' } },
    { status: 503 },
    { status: 429, headers: { 'retry-after': '3600' } },
    { status: 502 }
  ], { retries: 4, retryAfterMaxMs: 5000 })
  const answer = await client.request('GET', '/api/v2/zoom-oauth-credentials/')
  t.same(answer, { status: 200, body: { ok: true } })
  t.equal(sink.received.length, 5)
  t.equal(pauses[0], 2000, 'Retry-After: 2 → 2 s')
  t.ok((pauses[1] ?? 0) >= 800 && (pauses[1] ?? 0) <= 1200, `second failure: 1 s ± 20 % (${pauses[1] ?? 0})`)
  t.equal(pauses[2], 5000, 'a Retry-After of an hour is capped')
  t.ok((pauses[3] ?? 0) >= 3200 && (pauses[3] ?? 0) <= 4800, `fourth failure: 4 s ± 20 % (${pauses[3] ?? 0})`)
  t.equal(sink.received[0]?.headers.authorization, 'Token k')
})

t.test('retries are bounded; 4xx is answered to the caller, not retried', async t => {
  const { sink, client, pauses } = await setup(t, [{ status: 500 }, { status: 500 }, { status: 500 }], { retries: 2 })
  await t.rejects(client.request('POST', '/x', { json: { a: 1 } }), ProviderApiError)
  t.equal(sink.received.length, 3, 'one try and two retries')
  t.equal(pauses.length, 2)

  const four = await setup(t, [{ status: 400, body: '{"detail":"bad"}' }], { retries: 3 })
  t.same(await four.client.request('GET', '/y'), { status: 400, body: { detail: 'bad' } })
  t.equal(four.sink.received.length, 1)
})

t.test('a pagination link to another origin is refused: the key never leaves its API', async t => {
  const { client, sink } = await setup(t, [], { retries: 0 })
  await t.rejects(client.request('GET', 'https://evil.example/api/v2/zoom-oauth-credentials/?cursor=x'), /refusing to follow https:\/\/evil\.example/)
  t.equal(sink.received.length, 0)
})
