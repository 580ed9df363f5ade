import type { RecallRegion } from '../config/config.js'

/** Recall's regional API origin, e.g. `https://us-east-1.recall.ai`. */
export function recallRegionBaseUrl (region: RecallRegion): string {
  return `https://${region}.recall.ai`
}

/** Recall's per-app Zoom webhook URL (no trailing slash: that is how Recall documents it). */
export function recallWebhookUrl (baseUrl: string, recallZoomOAuthAppId: string): string {
  return `${baseUrl}/api/v2/zoom-oauth-apps/${encodeURIComponent(recallZoomOAuthAppId)}/webhook`
}

/** Attendee's Zoom webhook URL for one of its Zoom OAuth apps (`zoa_…`). */
export function attendeeWebhookUrl (baseUrl: string, attendeeZoomOAuthAppId: string): string {
  return `${baseUrl}/external_webhooks/zoom/oauth_apps/${encodeURIComponent(attendeeZoomOAuthAppId)}`
}
