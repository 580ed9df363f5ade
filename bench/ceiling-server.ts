import Fastify from 'fastify'

/**
 * The ingest ceiling: a bare Fastify 5 route that takes the same JSON body
 * (as a buffer, like ours) and answers 200. No verification, no Redis.
 */
const app = Fastify({ logger: false })
app.removeAllContentTypeParsers()
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
app.post('/zoom/webhook', async () => ({ status: 'accepted' }))
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url })}\n`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
