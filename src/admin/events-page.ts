import type { Config } from '../config/config.js'
import type { EventDetail } from '../history/event-detail.js'
import { DELIVERY_STATES, type EventFilters } from '../history/event-filters.js'
import type { ReplayResult } from '../history/event-replay.js'
import type { EventPage } from '../history/event-search.js'
import type { DestinationDelivery } from '../history/event-view.js'
import { escapeHtml } from '../oauth/oauth-page.js'

/**
 * The Events page of the admin UI, rendered by the admin server: plain HTML
 * forms, no scripts, every value escaped. Its one change (a replay) is a
 * same-origin form POST, which the admin server's CSRF rule already demands
 * of any change made with the session cookie.
 */

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;color:#222}
nav a{margin-right:1rem}nav form{display:inline}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
form.filters label{display:inline-block;margin:0 .8rem .5rem 0}input,select,button{font:inherit;padding:.2rem .35rem}
.state{padding:0 .35rem;border-radius:.25rem;background:#eee;white-space:nowrap}.delivered{background:#d8f0d8}
.dead{background:#f6d0d0}.retrying,.paused{background:#fbe7c0}.filtered{color:#777}code{font-size:.9em}
[role=alert]{background:#fde;padding:.5rem}[role=status]{background:#def;padding:.5rem}`

function layout (title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · zoom-webhook-relay admin</title><style>${STYLE}</style></head>
<body><nav><a href="/events">Events</a><a href="/ui">Queues</a><form method="post" action="/logout"><button type="submit">Sign out</button></form></nav>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`
}

/** The Events page of one event. */
export const eventPath = (publicId: string): string => `/events/${publicId.split('/').map(encodeURIComponent).join('/')}`

const text = (value: string | number | null | undefined): string => value === null || value === undefined ? '–' : escapeHtml(String(value))

function stateBadge (d: Pick<DestinationDelivery, 'destination' | 'state'>): string {
  const state = d.state ?? 'unknown'
  return `<span class="state ${escapeHtml(state)}" data-destination="${escapeHtml(d.destination)}">${escapeHtml(d.destination)}: ${escapeHtml(state)}</span>`
}

/** `datetime-local` value (UTC) of an epoch ms. */
const localTime = (ms: number | undefined): string => ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16)

function option (value: string, label: string, selected: string | undefined): string {
  return `<option value="${escapeHtml(value)}"${value === (selected ?? '') ? ' selected' : ''}>${escapeHtml(label)}</option>`
}

function filterForm (config: Config, filters: EventFilters, limit: number | undefined): string {
  const destinations = [...new Set(config.apps.flatMap(a => a.destinations.map(d => d.name)))]
  const input = (name: string, label: string, value: string | undefined, placeholder: string): string =>
    `<label>${label} <input name="${name}" value="${escapeHtml(value ?? '')}" placeholder="${escapeHtml(placeholder)}"></label>`
  return `<form class="filters" method="get" action="/events">
<label>App <select name="app">${option('', 'all', filters.app)}${config.apps.map(a => option(a.name, a.name, filters.app)).join('')}</select></label>
<label>Destination <select name="destination">${option('', 'all', filters.destination)}${destinations.map(d => option(d, d, filters.destination)).join('')}</select></label>
<label>State <select name="state">${option('', 'any', filters.state)}${DELIVERY_STATES.map(s => option(s, s, filters.state)).join('')}</select></label>
${input('event', 'Event', filters.event, 'meeting.* or meeting.created')}
${input('meeting', 'Meeting', filters.meeting, 'id or uuid')}
${input('account', 'Account', filters.account, 'account id')}
<label>Since (UTC) <input type="datetime-local" name="since" value="${localTime(filters.since)}"></label>
<label>Until (UTC) <input type="datetime-local" name="until" value="${localTime(filters.until)}"></label>
${input('limit', 'Per page', limit === undefined ? undefined : String(limit), '50')}
<button type="submit">Search</button> <a href="/events">Clear</a>
</form>`
}

/** The search form and one page of results. */
export function eventListPage (config: Config, query: { filters: EventFilters, limit: number | undefined }, page: EventPage, next: string | undefined): string {
  const rows = page.events.map(e => `<tr data-id="${escapeHtml(e.id)}"><td><a href="${escapeHtml(eventPath(e.id))}">${escapeHtml(e.id)}</a></td>
<td>${text(e.receivedAt)}</td><td>${text(e.event)}</td><td>${text(e.meeting ?? e.uuid)}</td><td>${text(e.account)}</td>
<td>${e.destinations.map(stateBadge).join(' ')}</td></tr>`).join('\n')
  const table = page.events.length === 0
    ? '<p>No events match on this page.</p>'
    : `<table><thead><tr><th>Id</th><th>Received</th><th>Event</th><th>Meeting</th><th>Account</th><th>Destinations</th></tr></thead><tbody>
${rows}
</tbody></table>`
  const more = next === undefined ? '<p>End of the history for these filters.</p>' : `<p><a rel="next" href="${escapeHtml(next)}">Older events</a> (${page.examined} examined on this page)</p>`
  return layout('Events', `${filterForm(config, query.filters, query.limit)}\n${table}\n${more}`)
}

/** One event: what is kept, each destination with every attempt, and the replay form. */
export function eventDetailPage (config: Config, detail: EventDetail): string {
  const app = config.apps.find(a => a.name === detail.app)
  const facts: Array<[string, string]> = [
    ['Id', text(detail.id)],
    ['Event', text(detail.event)],
    ['Received', text(detail.receivedAt)],
    ['Meeting', `${text(detail.meeting)}${detail.uuid === null ? '' : ` (uuid ${text(detail.uuid)})`}`],
    ['Account', text(detail.account)],
    ['Body', detail.body.kept ? `${detail.body.bytes} bytes, SHA-256 <code>${escapeHtml(detail.body.sha256)}</code>` : escapeHtml(detail.body.note)],
    ['Unsettled destinations', text(detail.unsettled)]
  ]
  const headers = Object.entries(detail.headers).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(v)}</code></td></tr>`).join('')
  const destinations = detail.destinations.map(d => {
    const attempts = d.attemptLog.length === 0
      ? '<p>No attempt logged.</p>'
      : `<table class="attempts"><thead><tr><th>At</th><th>Status</th><th>Took (ms)</th><th>Replay</th><th>Error</th></tr></thead><tbody>
${d.attemptLog.map(a => `<tr><td>${text(a.at)}</td><td>${text(a.status)}</td><td>${text(a.durationMs)}</td><td>${a.replay ? 'yes' : ''}</td><td>${text(a.error)}</td></tr>`).join('\n')}
</tbody></table>`
    return `<section data-destination="${escapeHtml(d.destination)}"><h3>${stateBadge(d)}</h3>
<p>${d.attempts} attempt(s), ${d.replays} replay(s); last status ${text(d.lastStatus)}; first attempt ${text(d.firstAttemptAt)}; last attempt ${text(d.lastAttemptAt)}; delivered ${text(d.deliveredAt)}${d.deadLetterReason === null ? '' : `; dead letter: ${text(d.deadLetterReason)}`}</p>
${d.lastError === null ? '' : `<p>Last error: ${text(d.lastError)}</p>`}
${attempts}</section>`
  }).join('\n')
  const replay = app === undefined || !detail.body.kept
    ? '<p>This event cannot be replayed: its body is no longer kept.</p>'
    : `<form method="post" action="/events/replay">
<input type="hidden" name="ids" value="${escapeHtml(detail.id)}">
<label>Destination <select name="destination">${app.destinations.map(d => option(d.name, d.name, undefined)).join('')}</select></label>
<label><input type="checkbox" name="dryRun" value="true"> dry run</label>
<label><input type="checkbox" name="force" value="true"> even if the destination's events filter excludes it</label>
<button type="submit">Replay</button>
</form>`
  return layout(`Event ${detail.id}`, `<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>
<h2>Headers</h2><table>${headers}</table>
<h2>Destinations</h2>
${destinations}
<h2>Replay</h2>
<p>Sends the original bytes with Zoom's headers to one destination, as a new delivery (its retry queue).</p>
${replay}`)
}

/** What a replay from the page did. */
export function replayResultPage (result: ReplayResult): string {
  const [event] = result.events
  const back = event === undefined ? '' : `<p><a href="${escapeHtml(eventPath(event.id))}">Back to the event</a></p>`
  const what = result.dryRun
    ? `Dry run: would replay ${result.replayed} event(s) to ${escapeHtml(result.destination)}; nothing was sent.`
    : `Replayed ${result.replayed} event(s) to ${escapeHtml(result.destination)}${event?.jobId === null || event?.jobId === undefined ? '' : ` (job ${escapeHtml(event.jobId)})`}.`
  return layout('Replay', `<p role="status">${what}</p>${back}`)
}

/** A refusal or a bad request, as a page. */
export function problemPage (code: string, message: string): string {
  return layout('Not done', `<p role="alert"><code>${escapeHtml(code)}</code> ${escapeHtml(message)}</p><p><a href="/events">Events</a></p>`)
}
