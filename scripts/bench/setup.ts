/**
 * Shared setup of `npm run bench` and `npm run bench:profile`: local state with a catalog of
 * `items` items, a model trained for it, the seeded history and sessions with live history,
 * and the request mix both send. `reuse` keeps the prepared state of an earlier run (same
 * item count) instead of building it again; the model, catalog and sessions are then as before.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readItems } from '../../model/io';
import { prepareDemo } from '../lib/demo';
import { localAdminToken, localServerKeyHeader, migrate, ROOT, startDev, type DevServer } from '../lib/wrangler';
import { seed } from '../seed';

export interface Bench {
  server: DevServer;
  /** the local state directory (to restart wrangler dev on it) and the vars it runs with */
  state: string;
  vars: Record<string, string>;
  modelVersion: string;
  /** Session ids with live history in their Durable Objects. */
  sessions: string[];
  itemIds: string[];
  categories: string[];
}

const N_SESSIONS = 300;

/** The store a bench runs on: the demo shop below 100,000 items, a synthetic store (5 events per item) from there. */
export function dataFor(items: number): 'demo' | 'synthetic' {
  return items >= 100_000 ? 'synthetic' : 'demo';
}

export async function openBench(o: { items: number; port: number; reuse: boolean; inspectorPort?: number }): Promise<Bench> {
  const work = resolve(ROOT, `.tmp/bench-${o.items}`);
  const state = resolve(work, 'state');
  const marker = resolve(work, 'ready.json');
  const token = localAdminToken();
  const vars = { MODEL_TTL_MS: '10000', CATALOG_TTL_MS: '5000', ACCESS_LOG: 'off' };
  const sessions = Array.from({ length: N_SESSIONS }, (_, s) => `bench-s${s}`);
  if (o.reuse && existsSync(marker)) {
    const ready = JSON.parse(readFileSync(marker, 'utf8')) as { itemIds: string[]; categories: string[] };
    console.log(`reusing the prepared state in ${work}`);
    migrate({ persistTo: state }); // migrations added since it was prepared
    const server = await startDev({ port: o.port, persistTo: state, vars, inspectorPort: o.inspectorPort });
    return { server, state, vars, modelVersion: await probe(server.url), sessions, ...ready };
  }
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.log(`preparing ${o.items} items, demo history and a model …`);
  migrate({ persistTo: state });
  const demo = await prepareDemo({ dir: work, items: o.items, target: { persistTo: state }, tune: false, data: dataFor(o.items) });
  const server = await startDev({ port: o.port, persistTo: state, vars, inspectorPort: o.inspectorPort });
  try {
    const seeded = await seed({ url: server.url, token, itemsFile: demo.itemsFile, eventsFile: demo.eventsFile, maxEvents: 5000 });
    console.log(`seeded ${seeded.items} items, ${seeded.events} history events`);
    // Sessions with live history: 300 sessions x 6 views.
    const ids = demo.itemIds;
    for (let s = 0; s < sessions.length; s += 50) {
      const events = sessions.slice(s, s + 50).flatMap((sid, j) =>
        Array.from({ length: 6 }, (_, v) => ({ event_id: `bench-${sid}-${v}`, type: 'view', item_id: ids[((s + j) * 131 + v * 17) % ids.length], session_id: sid, timestamp: Date.now() - 60_000 + v })),
      );
      const r = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { ...localServerKeyHeader(), 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      if (!r.ok) throw new Error(`seeding sessions: ${r.status} ${await r.text()}`);
    }
    const categories = categoriesOf(demo.itemsFile);
    writeFileSync(marker, JSON.stringify({ itemIds: ids, categories }));
    return { server, state, vars, modelVersion: await probe(server.url), sessions, itemIds: ids, categories };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

function categoriesOf(itemsFile: string): string[] {
  const seen = new Set<string>();
  for (const r of readItems(itemsFile).rows) if (r.category) seen.add(r.category);
  return [...seen].slice(0, 20);
}

async function probe(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/recommendations?slot=home&session_id=bench-s1&k=10`, { headers: localServerKeyHeader() });
  const body = (await res.json()) as { fallback: boolean; model_version: string | null };
  if (body.fallback || !body.model_version) throw new Error(`the model is not serving: ${JSON.stringify(body).slice(0, 300)}`);
  return body.model_version;
}

/**
 * The request mix, in a fixed cycle of 20 requests:
 *   12  a session with live history (300 sessions, round robin)         home slot
 *    3  a session id never seen before (a first page view)               home slot
 *    2  no session id at all (no consent: anonymous)                      home slot
 *    2  a session with history on a product page (item_id context)       pdp slot
 *    1  a session with history and a category filter                     home slot
 */
export const MIX_DESCRIPTION =
  'a fixed cycle of 20 requests: 12 from 300 sessions with live history, 3 from never-seen session ids, 2 without a session id (no consent), 2 product-page requests (item_id) from sessions with history, 1 with a category filter';

/** Each kind of request in the mix, as the n-th request of the bench would ask it. */
export const MIX_KINDS = {
  history: (b: Bench, n: number) => `/v1/recommendations?k=10&slot=home&session_id=${b.sessions[n % b.sessions.length]!}`,
  'new-session': (_b: Bench, n: number) => `/v1/recommendations?k=10&slot=home&session_id=new-${process.pid}-${n}`,
  anonymous: () => '/v1/recommendations?k=10&slot=home',
  'product-page': (b: Bench, n: number) =>
    `/v1/recommendations?k=10&slot=pdp&session_id=${b.sessions[n % b.sessions.length]!}&item_id=${encodeURIComponent(b.itemIds[(n * 7919) % b.itemIds.length]!)}`,
  category: (b: Bench, n: number) => `/v1/recommendations?k=10&slot=home&session_id=${b.sessions[n % b.sessions.length]!}&category=${encodeURIComponent(b.categories[n % b.categories.length]!)}`,
} as const;
export type MixKind = keyof typeof MIX_KINDS;

/** The mix's kind for the n-th request: 12 history, 3 new-session, 2 anonymous, 2 product-page, 1 category in 20. */
function kindOf(n: number): MixKind {
  const i = n % 20;
  return i < 12 ? 'history' : i < 15 ? 'new-session' : i < 17 ? 'anonymous' : i < 19 ? 'product-page' : 'category';
}

export function recommendationMix(b: Bench, only?: MixKind): () => string {
  let n = 0;
  return () => {
    n += 1;
    return MIX_KINDS[only ?? kindOf(n)](b, n);
  };
}
