/** HTML escaping for text and attribute values (quotes included). */
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`=]/g, (ch) => MAP[ch]!);
}

/** Only http(s) and same-site paths may become links or image sources. */
export function safeUrl(v: string | null | undefined): string {
  if (!v) return '';
  return /^(https?:\/\/|\/(?!\/))/i.test(v.trim()) ? v.trim() : '';
}
