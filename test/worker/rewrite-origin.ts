/**
 * A programmable storefront origin for the proxy tests. It runs in Node as miniflare's
 * outbound service (vitest.config.ts), so the worker reaches it over real HTTP through
 * `fetch(ORIGIN_URL + path)`: real status lines, headers, multiple Set-Cookie, chunked
 * streaming. Tests (inside workerd) program it over HTTP too:
 *   POST /__origin/pages    {path, status?, headers?: [name, value][], chunks?: string[],
 *                            base64?: string, hold?: boolean}
 *       `hold` sends the first chunk, then waits for POST /__origin/release?path=… before the rest;
 *       `holdHeaders` waits for that release before sending anything (not even the status line).
 *   POST /__origin/release?path=/x
 *   GET  /__origin/log?path=/x       the requests the origin received for that path
 * Unknown paths answer a JSON 404, like an origin API would.
 * Only structural types here, so the file type-checks without Node's type definitions.
 */
interface Req {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  on(ev: 'data', cb: (c: Uint8Array) => void): unknown;
  on(ev: 'end', cb: () => void): unknown;
}
interface Res {
  writeHead(status: number, headers: [string, string][] | Record<string, string | string[]>): unknown;
  write(chunk: string | Uint8Array): unknown;
  end(chunk?: string | Uint8Array): unknown;
  flushHeaders?(): void;
}

interface Page {
  status: number;
  headers: [string, string][];
  chunks: string[];
  base64?: string;
  hold?: boolean;
  holdHeaders?: boolean;
}

const pages = new Map<string, Page>();
const holds = new Map<string, () => void>();
const releases = new Set<string>();
const log = new Map<string, { method: string; headers: Record<string, unknown>; body: string }[]>();

function readBody(req: Req): Promise<string> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(new TextDecoder().decode(concat(parts))));
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function json(res: Res, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function testOrigin(req: Req, res: Res): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://origin.test');
  const method = req.method ?? 'GET';
  const body = await readBody(req);
  if (url.pathname === '/__origin/pages' && method === 'POST') {
    const p = JSON.parse(body) as Partial<Page> & { path: string };
    pages.set(p.path, { status: p.status ?? 200, headers: p.headers ?? [['content-type', 'text/html; charset=utf-8']], chunks: p.chunks ?? [], base64: p.base64, hold: p.hold, holdHeaders: p.holdHeaders });
    log.delete(p.path);
    return json(res, 200, { ok: true });
  }
  if (url.pathname === '/__origin/release' && method === 'POST') {
    const path = url.searchParams.get('path') ?? '';
    const release = holds.get(path);
    if (release) release();
    else releases.add(path);
    return json(res, 200, { released: !!release });
  }
  if (url.pathname === '/__origin/log') return json(res, 200, log.get(url.searchParams.get('path') ?? '') ?? []);

  const key = url.pathname + url.search;
  const page = pages.get(key) ?? pages.get(url.pathname);
  const entries = log.get(page && pages.has(key) ? key : url.pathname) ?? [];
  entries.push({ method, headers: req.headers, body });
  log.set(page && pages.has(key) ? key : url.pathname, entries);
  if (!page) return json(res, 404, { error: { code: 'not_found', message: `origin has no page at ${url.pathname}` } });

  if (page.holdHeaders) await waitForRelease(url.pathname);
  res.writeHead(page.status, page.headers);
  if (page.base64 !== undefined) return void res.end(Uint8Array.from(atob(page.base64), (c) => c.charCodeAt(0)));
  const [first, ...rest] = page.chunks;
  if (first !== undefined) res.write(first);
  else res.flushHeaders?.();
  if (page.hold) await waitForRelease(url.pathname);
  for (const c of rest) res.write(c);
  res.end();
}

async function waitForRelease(path: string): Promise<void> {
  if (releases.has(path)) releases.delete(path);
  else await new Promise<void>((resolve) => holds.set(path, resolve));
  holds.delete(path);
}
