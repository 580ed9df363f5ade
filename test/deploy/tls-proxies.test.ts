// deploy/caddy/Caddyfile and deploy/nginx/zoom-relay.conf: TLS termination that keeps Zoom's request as sent.
// Neither caddy nor nginx is installed here, so the files are read as text; the directives that matter are checked.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/cli.js'

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
/** Directives only: comments removed. */
const directives = (text: string): string => text.split('\n').map(line => line.replace(/#.*$/, '').trimEnd()).join('\n')
const DEFAULT_BODY_LIMIT = 1_048_576

t.test('nginx: body limit of the relay, streamed body, path unchanged, forwarded headers, only /zoom/ routed', async t => {
  const conf = directives(read('deploy/nginx/zoom-relay.conf'))
  t.match(conf, /^\s*client_max_body_size 1m;$/m, `client_max_body_size 1m = ${DEFAULT_BODY_LIMIT} bytes, BODY_LIMIT_BYTES' default`)
  const zoom = /location \/zoom\/ \{([\s\S]*?)\n {4}\}/.exec(conf)?.[1] ?? ''
  t.match(zoom, /proxy_pass http:\/\/zoom_relay;/, 'proxy_pass without a URI part: the path is passed unchanged')
  t.match(zoom, /proxy_request_buffering off;/)
  t.match(zoom, /proxy_http_version 1\.1;/)
  for (const header of ['X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host']) t.match(zoom, new RegExp(`proxy_set_header ${header} `), header)
  t.notMatch(conf, /\b(sub_filter|js_body_filter|body_filter_by_lua|mirror|proxy_set_body|gunzip)\b/, 'nothing that reads or rewrites bodies')
  t.notMatch(zoom, /proxy_set_header x-zm-|proxy_hide_header|more_clear_input_headers/i, 'Zoom\'s headers untouched')
  t.match(conf, /location \/ \{\s*return 404;\s*\}/, 'everything else 404 (metrics, health, admin stay private)')
  t.match(conf, /listen 443 ssl;/)
  t.match(conf, /upstream zoom_relay \{\s*server 127\.0\.0\.1:8080;/, 'the relay on PORT 8080')
})

t.test('Caddy: only /zoom/* proxied, a 1 MiB body limit, no body rewriting', async t => {
  const caddy = directives(read('deploy/caddy/Caddyfile'))
  t.match(caddy, /@zoom path \/zoom\/\*/)
  t.match(caddy, /handle @zoom \{[\s\S]*request_body \{\s*max_size 1MiB\s*\}[\s\S]*reverse_proxy 127\.0\.0\.1:8080/, 'max_size 1MiB = BODY_LIMIT_BYTES\' default, then the relay')
  t.match(caddy, /handle \{\s*respond 404\s*\}/)
  t.notMatch(caddy, /\b(templates|replace|request_header -?x-zm)\b/i, 'nothing that rewrites bodies or Zoom\'s headers')
})

t.test('the README and docs/connect-zoom.md point at both files and at the smee-client finding', async t => {
  const doc = read('docs/connect-zoom.md')
  for (const file of ['deploy/caddy/Caddyfile', 'deploy/nginx/zoom-relay.conf']) {
    t.match(doc, `(../${file})`, `connect-zoom.md links ${file}`)
    t.match(read('README.md'), `(${file})`, `README links ${file}`)
  }
  t.match(doc, /probot\/smee-client.*index\.ts.*1dd04b9/s, 'the source the smee.io claim rests on')
  t.match(doc, /JSON\.stringify\(data\.body\)/)
  t.match(read('README.md'), /\[docs\/connect-zoom\.md\]\(docs\/connect-zoom\.md\)/)
})
