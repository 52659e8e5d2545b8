/**
 * The console's page frame: navigation, styles and its own Content-Security-Policy. Pages are
 * server-rendered; the only script is /console/assets/console.js (same origin), so no inline
 * script may run. Styles may be inline (the charts colour their legends with style attributes).
 */
import { DASHBOARD_CSS } from '../dashboard/page';
import { escapeHtml as esc } from '../render/escape';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'unsafe-inline'",
  // product images in previews come from the shop's CDN
  "img-src 'self' data: https:",
  "connect-src 'self'",
  "frame-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NAV = [
  ['health', '/console', 'Health'],
  ['kpis', '/console/kpis', 'KPIs'],
  ['catalog', '/console/catalog', 'Catalog'],
  ['preview', '/console/preview', 'Preview'],
  ['slots', '/console/slots', 'Slots'],
  ['experiments', '/console/experiments', 'Experiments'],
  ['models', '/console/models', 'Models'],
] as const;

export type Section = (typeof NAV)[number][0];

const CSS = `${DASHBOARD_CSS}
header nav a{color:#cbd5e1;text-decoration:none;margin-right:14px}header nav a.on{color:#fff;font-weight:600;border-bottom:2px solid #38bdf8}
header form{margin-left:auto}button,input,select,textarea{font:inherit}button{cursor:pointer;background:#2563eb;color:#fff;border:0;border-radius:6px;padding:5px 12px}
button.secondary{background:#e2e8f0;color:#0f172a}.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;margin-bottom:16px}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px;min-width:150px}
.kpi b{display:block;font-size:22px}.kpi small{color:#64748b}.error{background:#fee2e2;color:#991b1b;padding:8px 12px;border-radius:6px}
.done{background:#dcfce7;color:#166534;padding:8px 12px;border-radius:6px}label{display:block;margin:6px 0 2px;font-weight:600}
input[type=text],input[type=password],input[type=search],input[type=number],textarea,select{border:1px solid #cbd5e1;border-radius:6px;padding:5px 8px}
textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;font-size:12px}.row{display:flex;gap:16px;flex-wrap:wrap}.row>*{flex:1;min-width:320px}
iframe.preview{width:100%;height:420px;border:1px solid #e2e8f0;border-radius:6px;background:#fff}.inline{display:inline}code{font-size:12px}
.bars rect{fill:#2563eb}`;

export function layout(title: string, section: Section | null, body: string, opts: { signedIn?: boolean } = { signedIn: true }): string {
  const nav = NAV.map(([id, href, label]) => `<a href="${href}"${id === section ? ' class="on"' : ''}>${label}</a>`).join('');
  const logout = opts.signedIn === false ? '' : '<form method="post" action="/console/logout"><button class="secondary" type="submit">Sign out</button></form>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} — edge-p13n console</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style><script src="/console/assets/console.js" defer></script></head><body>
<header><h1>edge-p13n</h1>${opts.signedIn === false ? '' : `<nav>${nav}</nav>`}${logout}</header>
<main><h2>${esc(title)}</h2>${body}</main></body></html>`;
}

/** A message above a page: the outcome of the last action (?done=…) or an error. */
export function notice(kind: 'done' | 'error', text: string | undefined): string {
  return text ? `<p class="${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${esc(text)}</p>` : '';
}

export const pct = (x: number | null, d = 2) => (x === null ? '—' : `${(x * 100).toFixed(d)}%`);
export const money = (x: number | null) => (x === null ? '—' : x.toFixed(2));
export const num = (x: number | null, d = 2) => (x === null ? '—' : x.toFixed(d));
export { esc };
