/**
 * Display fields (title, links, tags) for the few items a request returns: one D1 round trip for
 * the ids not cached, and a per-isolate LRU bounded by bytes that the change log invalidates
 * (worker/catalog/serving.ts calls forgetDisplay for every changed id).
 */
import { Lru } from '../lib/lru';
import { countRead } from './read-stats';
import type { DisplayFields } from './types';

/**
 * ~8 MiB of heap: about 25,000 items of a typical feed. A miss is a D1 query on the request's
 * path, the largest cost of a page showing items this isolate has not shown before (product
 * pages, category filters: docs/benchmarks.md), so the budget is most of what the heap can spare
 * beside the catalog's columns (outside the heap) and the model's lists.
 */
const BUDGET_BYTES = 8 * 1024 * 1024;
/** D1 allows 100 bound parameters per statement. */
const IDS_PER_STATEMENT = 100;

interface Cache {
  entries: Lru<string, DisplayFields>;
  /** bumped by every invalidation: a read that started before it is not cached */
  gen: number;
}

const caches = new WeakMap<D1Database, Cache>();

function cacheOf(d1: D1Database): Cache {
  let c = caches.get(d1);
  if (!c) caches.set(d1, (c = { entries: new Lru(BUDGET_BYTES), gen: 0 }));
  return c;
}

/** Heap bytes of an entry, roughly: the strings (two bytes a character at worst) and the objects around them. */
function heapBytes(f: DisplayFields): number {
  let chars = f.title.length + (f.imageUrl?.length ?? 0) + (f.url?.length ?? 0);
  for (const t of f.tags) chars += t.length + 16;
  return 160 + 2 * chars;
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
    if (hit) out.set(id, hit);
    else misses.push(id);
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
      c.entries.set(r.id, f, heapBytes(f));
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
