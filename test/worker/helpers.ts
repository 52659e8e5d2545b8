/** Test helpers: they go through the public HTTP surface, like a storefront or an operator would. */
import { env, exports } from 'cloudflare:workers';
import { signUserToken } from '../../worker/identity/shopper';

export const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}` };
export const CATEGORIES = ['skincare', 'makeup', 'haircare', 'fragrance'] as const;

export interface FixtureItem {
  item_id: string;
  title: string;
  category: string;
  brand: string;
  price: number;
  tags: string[];
  in_stock: boolean;
  popularity: number;
  url: string;
}

/** 30 items per category; popularity falls with the index so the popular list is known. */
export function fixtureCatalog(perCategory = 30): FixtureItem[] {
  return CATEGORIES.flatMap((cat, c) =>
    Array.from({ length: perCategory }, (_, i) => ({
      item_id: `${cat}-${i}`,
      title: `${cat} product ${i}`,
      category: cat,
      brand: `brand-${c}-${i % 3}`,
      price: 5 + i,
      tags: [cat, i % 2 ? 'vegan' : 'classic'],
      in_stock: true,
      popularity: 1000 - i * 10 - c,
      url: `/product/${cat}-${i}`,
    })),
  );
}

/**
 * Test requests to the API come from a storefront backend (X-P13n-Server-Key): they name their
 * own session ids. A test that plays a browser or a stranger says so with `publicCaller`.
 */
export const SERVER_KEY_HEADER = 'x-p13n-server-key';
export function withServerKey(path: string, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  if (path.startsWith('/v1/') && !headers.has(SERVER_KEY_HEADER)) headers.set(SERVER_KEY_HEADER, env.SERVER_KEY);
  if (headers.get(SERVER_KEY_HEADER) === '') headers.delete(SERVER_KEY_HEADER);
  return { ...init, headers };
}

/** Headers of a caller without the server key (a browser, the snippet, a stranger). */
export function publicCaller(headers: Record<string, string> = {}): Record<string, string> {
  return { ...headers, [SERVER_KEY_HEADER]: '' };
}

export function fetchWorker(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://worker.test${path}`, withServerKey(path, init)));
}

export async function adminJson(path: string, method: string, body?: unknown): Promise<Response> {
  return fetchWorker(path, {
    method,
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function seedCatalog(items: unknown[] = fixtureCatalog()): Promise<void> {
  const res = await adminJson('/v1/admin/catalog', 'POST', items);
  if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
}

/** A shopper token as the storefront's backend signs it (docs/security.md). */
export function token(sub: string, expiresInSec = 3600, secret = env.IDENTITY_SECRET): Promise<string> {
  return signUserToken(secret, sub, Date.now() / 1000 + expiresInSec);
}

let seq = 0;
export function event(type: string, item_id: string, session_id: string, extra: Record<string, unknown> = {}) {
  seq += 1;
  return { event_id: `ev-${Date.now()}-${seq}-${Math.random().toString(36).slice(2)}`, type, item_id, session_id, timestamp: Date.now() - 1000 + seq, ...extra };
}

/**
 * POST a batch, then (unless `settle: false`) wait until the queue consumer has logged every event
 * the answer accepted, so a test sees what a shopper sees a few seconds later (attribution,
 * multi-session features, the R2 log).
 */
export async function postEvents(events: unknown[], opts: { settle?: boolean } = {}): Promise<{ status: number; body: any }> {
  const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  const body = await res.json<any>();
  if (opts.settle !== false && res.status === 200 && body.accepted > 0) {
    const rejected = new Set<number>((body.rejected ?? []).map((r: { index: number }) => r.index));
    const ids = events.filter((e, i) => !rejected.has(i) && typeof (e as { event_id?: unknown })?.event_id === 'string').map((e) => (e as { event_id: string }).event_id);
    await waitForLog([...new Set(ids)]);
  }
  return { status: res.status, body };
}

/** GET /v1/recommendations; a `user_token` goes in the X-P13n-User-Token header (never the query string). */
export async function recommendations({ user_token, ...query }: Record<string, string | number>): Promise<{ status: number; body: any; headers: Headers }> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await fetchWorker(`/v1/recommendations?${qs}`, user_token === undefined ? undefined : { headers: { 'x-p13n-user-token': String(user_token) } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const logCache = new Map<string, Record<string, any>[]>();

/** Every line of the R2 event log (worker/events/log-store.ts); objects are cached by key and etag. */
export async function logEvents(): Promise<Record<string, any>[]> {
  return (await logLines()).map((l) => l.row);
}

async function logLines(): Promise<{ key: string; row: Record<string, any> }[]> {
  const { parseLog } = await import('../../worker/events/log-store');
  const out: { key: string; row: Record<string, any> }[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.EXPORTS.list({ prefix: 'events/', cursor });
    for (const o of page.objects) {
      const id = `${o.key}\u0000${o.etag}`;
      let rows = logCache.get(id);
      if (!rows) {
        const obj = await env.EXPORTS.get(o.key);
        if (!obj) continue;
        rows = parseLog(await new Response(obj.body.pipeThrough(new DecompressionStream('gzip'))).text());
        logCache.set(id, rows);
      }
      for (const row of rows) out.push({ key: o.key, row });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/**
 * Wait until the queue consumer has written these event ids to the R2 log (the local queue
 * delivers after max_batch_timeout) and finished its D1 batch (the objects' manifest rows exist).
 */
export async function waitForLog(ids: string[], timeoutMs = 15_000): Promise<Record<string, any>[]> {
  const deadline = Date.now() + timeoutMs;
  const want = new Set(ids);
  for (;;) {
    const lines = await logLines();
    const keys = new Set(lines.filter((l) => want.has(l.row.event_id)).map((l) => l.key));
    const have = new Set(lines.filter((l) => want.has(l.row.event_id)).map((l) => l.row.event_id));
    if (have.size === want.size) {
      const listed = await env.DB.prepare('SELECT COUNT(*) AS n FROM event_log_objects WHERE key IN (SELECT value FROM json_each(?))').bind(JSON.stringify([...keys])).first<{ n: number }>();
      if (listed!.n === keys.size) return lines.map((l) => l.row);
    }
    if (Date.now() > deadline) throw new Error(`event log lacks ${want.size - have.size} of ${want.size} ids after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `fn(0) … fn(n - 1)`, `size` at a time (independent requests of a statistical check), results in order. */
export async function inBatches<T>(n: number, size: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < n; start += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - start) }, (_, j) => fn(start + j)))));
  return out;
}
