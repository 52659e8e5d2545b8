/** HTML escaping for text and attribute values (quotes included). */
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`=]/g, (ch) => MAP[ch]!);
}

/**
 * Only http(s) and same-site paths may become links or image sources. The check runs on the URL
 * as a browser reads it: leading/trailing controls and spaces stripped, tabs and newlines removed
 * anywhere, `\` read as `/` — so `/\evil.com` and `/<TAB>/evil.com` are the protocol-relative
 * `//evil.com` and refused.
 */
export function safeUrl(v: string | null | undefined): string {
  if (!v) return '';
  const url = v.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  if (/^https?:\/\//i.test(url)) return url;
  return /^\/(?![/\\])/.test(url) ? url : '';
}
