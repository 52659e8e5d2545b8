/**
 * An in-isolate snapshot of the catalog, so answering a request never reads D1 per item.
 * It is reloaded when the catalog version in D1 changes (checked at most every `ttlMs`,
 * in the background, while the old snapshot keeps serving).
 */
import { asc, eq, gt } from 'drizzle-orm';
import { db } from '../db/client';
import { items, meta } from '../db/schema';

export interface CatalogItem {
  id: string;
  title: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  imageUrl: string | null;
  url: string | null;
  tags: string[];
  inStock: boolean;
  popularity: number;
}

export interface CatalogSnapshot {
  version: number;
  byId: Map<string, CatalogItem>;
  /** All items, most popular first. */
  popular: CatalogItem[];
  loadedAt: number;
}

export const CATALOG_VERSION_KEY = 'catalog_version';
const PAGE = 5000;

export async function readCatalogVersion(d1: D1Database): Promise<number> {
  const row = await db(d1).select({ value: meta.value }).from(meta).where(eq(meta.key, CATALOG_VERSION_KEY)).get();
  return row ? Number(row.value) : 0;
}

async function loadSnapshot(d1: D1Database): Promise<CatalogSnapshot> {
  const version = await readCatalogVersion(d1);
  const byId = new Map<string, CatalogItem>();
  let after = '';
  for (;;) {
    const page = await db(d1).select().from(items).where(gt(items.id, after)).orderBy(asc(items.id)).limit(PAGE).all();
    for (const r of page) {
      byId.set(r.id, {
        id: r.id,
        title: r.title,
        category: r.category,
        brand: r.brand,
        price: r.price,
        imageUrl: r.imageUrl,
        url: r.url,
        tags: r.tags ?? [],
        inStock: r.inStock,
        popularity: r.popularity,
      });
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  const popular = [...byId.values()].sort((a, b) => b.popularity - a.popularity || (a.id < b.id ? -1 : 1));
  return { version, byId, popular, loadedAt: Date.now() };
}

interface CacheState {
  snapshot?: CatalogSnapshot;
  loading?: Promise<CatalogSnapshot>;
  checkedAt: number;
  checking?: Promise<void>;
}

const state = new WeakMap<D1Database, CacheState>();

/**
 * Current snapshot. The first call waits for the load; later calls answer at once and,
 * when the snapshot is older than ttlMs, check the version in the background.
 */
export async function getCatalog(d1: D1Database, ttlMs: number, waitUntil?: (p: Promise<unknown>) => void): Promise<CatalogSnapshot> {
  let s = state.get(d1);
  if (!s) {
    s = { checkedAt: 0 };
    state.set(d1, s);
  }
  const st = s;
  if (!st.snapshot) {
    st.loading ??= loadSnapshot(d1).finally(() => (st.loading = undefined));
    st.snapshot = await st.loading;
    st.checkedAt = Date.now();
    return st.snapshot;
  }
  if (Date.now() - st.checkedAt > ttlMs && !st.checking) {
    st.checkedAt = Date.now();
    st.checking = (async () => {
      const v = await readCatalogVersion(d1);
      if (v !== st.snapshot!.version) st.snapshot = await loadSnapshot(d1);
    })()
      .catch(() => undefined)
      .finally(() => (st.checking = undefined));
    waitUntil?.(st.checking);
  }
  return st.snapshot;
}

/** Drop the cached snapshot (after an admin write in this isolate, so it reads its own writes). */
export function invalidateCatalog(d1: D1Database): void {
  state.delete(d1);
}
