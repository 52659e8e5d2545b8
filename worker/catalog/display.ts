/**
 * Display fields (title, links, tags) for the few items a request returns: one D1 round trip for
 * the ids not cached, and a bounded per-isolate LRU that the change log invalidates
 * (worker/catalog/serving.ts calls forgetDisplay for every changed id).
 */
import { countRead } from './read-stats';
import type { DisplayFields } from './types';

const MAX_ENTRIES = 5000;
/** D1 allows 100 bound parameters per statement. */
const IDS_PER_STATEMENT = 100;

interface Cache {
  entries: Map<string, DisplayFields>;
  /** bumped by every invalidation: a read that started before it is not cached */
  gen: number;
}

const caches = new WeakMap<D1Database, Cache>();

function cacheOf(d1: D1Database): Cache {
  let c = caches.get(d1);
  if (!c) caches.set(d1, (c = { entries: new Map(), gen: 0 }));
  return c;
}

interface DisplayRow {
  id: string;
  title: string;
  image_url: string | null;
  url: string | null;
  tags: string | null;
}

function toFields(r: DisplayRow): DisplayFields {
  let tags: string[] = [];
  try {
    const v = JSON.parse(r.tags ?? '[]') as unknown;
    if (Array.isArray(v)) tags = v.filter((t): t is string => typeof t === 'string');
  } catch {
    // a malformed tags column shows as no tags
  }
  return { title: r.title, imageUrl: r.image_url, url: r.url, tags };
}

/** Display fields of the ids that are in the catalog (ids not found are absent from the map). */
export async function displayFields(env: Pick<Env, 'DB'>, ids: string[]): Promise<Map<string, DisplayFields>> {
  const c = cacheOf(env.DB);
  const out = new Map<string, DisplayFields>();
  const misses: string[] = [];
  for (const id of new Set(ids)) {
    const hit = c.entries.get(id);
    if (hit) {
      // most recently used last
      c.entries.delete(id);
      c.entries.set(id, hit);
      out.set(id, hit);
    } else misses.push(id);
  }
  if (!misses.length) return out;
  const gen = c.gen;
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < misses.length; i += IDS_PER_STATEMENT) {
    const part = misses.slice(i, i + IDS_PER_STATEMENT);
    stmts.push(env.DB.prepare(`SELECT id, title, image_url, url, tags FROM items WHERE id IN (${part.map(() => '?').join(',')})`).bind(...part));
  }
  const results = stmts.length === 1 ? [await stmts[0]!.all<DisplayRow>()] : await env.DB.batch<DisplayRow>(stmts);
  for (const res of results) {
    countRead('display', res);
    for (const r of res.results) {
      const f = toFields(r);
      out.set(r.id, f);
      if (c.gen !== gen) continue;
      c.entries.set(r.id, f);
      if (c.entries.size > MAX_ENTRIES) c.entries.delete(c.entries.keys().next().value!);
    }
  }
  return out;
}

/** Only what this isolate has cached (when D1 cannot answer, a warm isolate still shows its hot items). */
export function cachedDisplayFields(env: Pick<Env, 'DB'>, ids: string[]): Map<string, DisplayFields> {
  const entries = caches.get(env.DB)?.entries;
  const out = new Map<string, DisplayFields>();
  for (const id of ids) {
    const hit = entries?.get(id);
    if (hit) out.set(id, hit);
  }
  return out;
}

/** Drop cached display fields (ids changed by the log), or all of them (a new snapshot). */
export function forgetDisplay(d1: D1Database, ids: Iterable<string> | 'all'): void {
  const c = caches.get(d1);
  if (!c) return;
  c.gen += 1;
  if (ids === 'all') c.entries.clear();
  else for (const id of ids) c.entries.delete(id);
}
