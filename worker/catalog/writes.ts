/**
 * Catalog writes from the admin API. Every write logs the ids it touched in `catalog_changes`, in
 * the same D1 batch (one transaction), so every isolate applies exactly those items (worker/catalog/serving.ts).
 */
import { eq, max, sql } from 'drizzle-orm';
import { chunk, db, rowsPerStatement, runBatch, type Db } from '../db/client';
import { catalogChanges, items, type NewItem } from '../db/schema';
import type { CatalogItemInput } from '../schemas/catalog';
import { noteCatalogWrite } from './serving';

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
    // A write that lists the item again brings it back from a feed's removal mark.
    removedAt: null,
  };
}

const COLUMNS = 12;
const CHANGE_COLUMNS = 2;

function logChanges(d: Db, ids: string[], now: number) {
  return chunk(ids, rowsPerStatement(CHANGE_COLUMNS)).map((part) => d.insert(catalogChanges).values(part.map((itemId) => ({ itemId, at: now }))));
}

/** The change log's position: the catalog version writes report. */
export async function catalogVersion(d1: D1Database): Promise<number> {
  const row = await db(d1).select({ seq: max(catalogChanges.seq) }).from(catalogChanges).get();
  return row?.seq ?? 0;
}

/** Upsert in one D1 batch (atomic); popularity is kept when the caller does not send it. */
export async function upsertItems(d1: D1Database, input: CatalogItemInput[]): Promise<number> {
  return (await upsertItemsAt(d1, input)).version;
}

/** upsertItems, also saying when it wrote (the items' updated_at): a full feed import marks what was not written since its first chunk. */
export async function upsertItemsAt(d1: D1Database, input: CatalogItemInput[]): Promise<{ version: number; writtenAt: number }> {
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
          removedAt: sql`NULL`,
        },
      }),
  );
  await runBatch(d, [...stmts, ...logChanges(d, [...new Set(input.map((i) => i.item_id))], now)]);
  noteCatalogWrite(d1);
  return { version: await catalogVersion(d1), writtenAt: now };
}

export async function patchItem(d1: D1Database, id: string, patch: Partial<NewItem>): Promise<boolean> {
  const d = db(d1);
  const now = Date.now();
  // A log row for an id that is not in the catalog reads as "not there": harmless (404 answers).
  const [res] = await d.batch([d.update(items).set({ ...patch, updatedAt: now }).where(eq(items.id, id)).returning({ id: items.id }), ...logChanges(d, [id], now)]);
  noteCatalogWrite(d1);
  return res.length > 0;
}

export async function removeItem(d1: D1Database, id: string): Promise<boolean> {
  const d = db(d1);
  const now = Date.now();
  // The log row outlives the item: a change with no item behind it is the removal (tombstone).
  const [res] = await d.batch([d.delete(items).where(eq(items.id, id)).returning({ id: items.id }), ...logChanges(d, [id], now)]);
  noteCatalogWrite(d1);
  return res.length > 0;
}
