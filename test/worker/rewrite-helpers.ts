/** Helpers for the HTML proxy tests: program the test origin (rewrite-origin.ts), read pages through the worker. */
import { fetchWorker } from './helpers';

const ORIGIN = 'http://origin.test';

export interface PageSpec {
  status?: number;
  headers?: [string, string][];
  chunks?: string[];
  base64?: string;
  hold?: boolean;
  holdHeaders?: boolean;
}

export async function originPage(path: string, spec: PageSpec | string): Promise<void> {
  const body = typeof spec === 'string' ? { chunks: [spec] } : spec;
  const res = await fetch(`${ORIGIN}/__origin/pages`, { method: 'POST', body: JSON.stringify({ path, ...body }) });
  if (res.status !== 200) throw new Error(`origin refused page ${path}: ${res.status}`);
}

export async function releaseOrigin(path: string): Promise<void> {
  await fetch(`${ORIGIN}/__origin/release?path=${encodeURIComponent(path)}`, { method: 'POST' });
}

export async function originLog(path: string): Promise<{ method: string; headers: Record<string, string>; body: string }[]> {
  return (await fetch(`${ORIGIN}/__origin/log?path=${encodeURIComponent(path)}`)).json();
}

/** What the origin itself sends for a path (straight to the origin, no proxy). */
export async function direct(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${ORIGIN}${path}`, init);
}

export const CONSENT = { cookie: 'p13n_consent=granted' };

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

export async function page(path: string, opts: { cookies?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { accept: 'text/html', ...(opts.headers ?? {}) };
  if (opts.cookies) headers.cookie = cookieHeader(opts.cookies);
  const res = await fetchWorker(path, { headers });
  return { res, html: await res.text() };
}

/** Slot element -> its parsed state, recommendation id and items (by data attributes). */
export function slots(html: string): Map<string, { state: string | null; rec: string | null; strategy: string | null; items: string[]; inner: string }> {
  const out = new Map();
  const re = /<(\w+)([^>]*\bdata-p13n-slot="([^"]*)"[^>]*)>([\s\S]*?)<\/\1>\s*<!--\/slot-->/g;
  for (const m of html.matchAll(re)) {
    const attrs = m[2]!;
    const attr = (n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(attrs)?.[1] ?? null;
    const inner = m[4]!;
    out.set(m[3]!, {
      state: attr('data-p13n-state'),
      rec: attr('data-p13n-rec'),
      strategy: attr('data-p13n-strategy'),
      items: [...inner.matchAll(/data-p13n-item-id="([^"]*)"/g)].map((x) => x[1]!),
      inner,
    });
  }
  return out;
}

/** A storefront page; each slot is followed by a `<!--/slot-->` marker so tests can find its end. */
export function storePage(body: string, title = 'Test store'): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><header><a href="/">Store</a></header><main>${body}</main><footer>© store</footer></body></html>`;
}

export function slot(name: string, attrs: Record<string, string | number> = {}, fallback = `<p class="fallback">Editor's picks for ${name}</p>`): string {
  const extra = Object.entries(attrs)
    .map(([k, v]) => ` data-p13n-${k}="${v}"`)
    .join('');
  return `<div class="recs" data-p13n-slot="${name}"${extra}>${fallback}</div><!--/slot-->`;
}

export function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}
