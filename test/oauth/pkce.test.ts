import t from 'tap'
import { codeChallenge, randomToken } from '../../src/oauth/pkce.js'

t.test('S256 challenge: the RFC 7636 Appendix B vector', async t => {
  t.equal(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
})

t.test('random tokens: 43 base64url characters (256 bits), never repeated', async t => {
  const seen = new Set<string>()
  for (let i = 0; i < 1000; i++) seen.add(randomToken())
  t.equal(seen.size, 1000)
  t.ok([...seen].every(token => /^[A-Za-z0-9_-]{43}$/.test(token)), 'all of the form')
})
