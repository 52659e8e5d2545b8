/** Catalog writes from the admin API. Every write bumps the catalog version so isolates reload. */
import { eq, sql } from 'drizzle-orm';
import { chunk, db, rowsPerStatement, runBatch } from '../db/client';
import { items, meta, type NewItem } from '../db/schema';
import type { CatalogItemInput } from '../schemas/catalog';
import { CATALOG_VERSION_KEY, invalidateCatalog, readCatalogVersion } from './snapshot';

export function toRow(i: CatalogItemInput, now: number): NewItem {
  return {
    id: i.item_id,
    title: i.title,
    category: i.category ?? null,
    brand: i.brand ?? null,
    price: i.price ?? null,
    imageUrl: i.image_url ?? null,
    url: i.url ?? null,
    tags: i.tags,
    inStock: i.in_stock,
    popularity: i.popularity ?? 0,
    updatedAt: now,
  };
}

const COLUMNS = 11;

function bumpVersion(d: ReturnType<typeof db>) {
  return d
    .insert(meta)
    .values({ key: CATALOG_VERSION_KEY, value: '1' })
    .onConflictDoUpdate({ target: meta.key, set: { value: sql`CAST(${meta.value} AS INTEGER) + 1` } });
}

/** Upsert in one D1 batch (atomic); popularity is kept when the caller does not send it. */
export async function upsertItems(d1: D1Database, input: CatalogItemInput[]): Promise<number> {
  const d = db(d1);
  const now = Date.now();
  const stmts = chunk(input, rowsPerStatement(COLUMNS)).map((part) =>
    d
      .insert(items)
      .values(part.map((i) => toRow(i, now)))
      .onConflictDoUpdate({
        target: items.id,
        set: {
          title: sql`excluded.title`,
          category: sql`excluded.category`,
          brand: sql`excluded.brand`,
          price: sql`excluded.price`,
          imageUrl: sql`excluded.image_url`,
          url: sql`excluded.url`,
          tags: sql`excluded.tags`,
          inStock: sql`excluded.in_stock`,
          popularity: sql`CASE WHEN excluded.popularity > 0 THEN excluded.popularity ELSE ${items.popularity} END`,
          updatedAt: sql`excluded.updated_at`,
        },
      }),
  );
  await runBatch(d, [bumpVersion(d), ...stmts]);
  invalidateCatalog(d1);
  return readCatalogVersion(d1);
}

export async function patchItem(d1: D1Database, id: string, patch: Partial<NewItem>): Promise<boolean> {
  const d = db(d1);
  const [res] = await d.batch([
    d.update(items).set({ ...patch, updatedAt: Date.now() }).where(eq(items.id, id)).returning({ id: items.id }),
    bumpVersion(d),
  ]);
  invalidateCatalog(d1);
  return res.length > 0;
}

export async function removeItem(d1: D1Database, id: string): Promise<boolean> {
  const d = db(d1);
  const [res] = await d.batch([d.delete(items).where(eq(items.id, id)).returning({ id: items.id }), bumpVersion(d)]);
  invalidateCatalog(d1);
  return res.length > 0;
}
