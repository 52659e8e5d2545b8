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

export function fetchWorker(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://worker.test${path}`, init));
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

export async function postEvents(events: unknown[]): Promise<{ status: number; body: any }> {
  const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  return { status: res.status, body: await res.json() };
}

export async function recommendations(query: Record<string, string | number>): Promise<{ status: number; body: any; headers: Headers }> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await fetchWorker(`/v1/recommendations?${qs}`);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Every line of the R2 event log (worker/events/log-store.ts), read object by object. */
export async function logEvents(): Promise<Record<string, any>[]> {
  const { logObjectKeys, readLogObject } = await import('../../worker/events/log-store');
  const out: Record<string, any>[] = [];
  for await (const key of logObjectKeys(env.EXPORTS, ['events/'])) out.push(...((await readLogObject(env.EXPORTS, key)) ?? []));
  return out;
}

/**
 * Wait until the queue consumer has written these event ids to the R2 log (the local queue
 * delivers after max_batch_timeout), then give it a moment to finish its D1 batch.
 */
export async function waitForLog(ids: string[], timeoutMs = 15_000): Promise<Record<string, any>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await logEvents();
    const have = new Set(rows.map((r) => r.event_id));
    if (ids.every((id) => have.has(id))) {
      await new Promise((r) => setTimeout(r, 200));
      return rows;
    }
    if (Date.now() > deadline) throw new Error(`event log lacks ${ids.filter((id) => !have.has(id)).length} of ${ids.length} ids after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
