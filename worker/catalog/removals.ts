/**
 * Items a full catalog feed no longer lists: marked, never deleted (docs/catalog.md, "Removed items").
 * The rule: after a full import whose writes all happened at or after `since` (the first chunk's
 * written_at), an item not written since then and not already marked is marked removed:
 * in_stock = false (so no list shows it by default) and removed_at = now. Safe by construction:
 *  - ids of the feed's bad rows are "listed" (touched first), so a typo in a row never removes its item;
 *  - an item written by anyone else during the import counts as listed;
 *  - if more than `maxShare` of the live catalog would be marked (a truncated or wrong feed), nothing is.
 * The marks and their change-log rows are one D1 batch, so every isolate sees them (worker/catalog/serving.ts).
 */
import { and, count, inArray, isNull, lt } from 'drizzle-orm';
import { chunk, db, rowsPerStatement, runBatch } from '../db/client';
import { items } from '../db/schema';
import { catalogVersion } from './writes';
import { noteCatalogWrite } from './serving';

export const DEFAULT_MAX_REMOVED_SHARE = 0.5;
/**
 * A chunked import writes from several machines whose clocks may differ a little: its cut-off is
 * taken this much before its first write, so a chunk stamped by a slower clock never looks unlisted.
 * (Items written by others in that minute before the import count as listed: the safe side.)
 */
export const CLOCK_MARGIN_MS = 60_000;

export interface RemovalResult {
  removed: number;
  /** Live (unmarked) items before the marks. */
  live: number;
  /** Set when the share guard refused: nothing was marked. */
  refused: string | null;
  catalog_version: number;
}

export async function markUnlisted(d1: D1Database, opts: { since: number; listed?: string[]; maxShare?: number }): Promise<RemovalResult> {
  const d = db(d1);
  const maxShare = opts.maxShare ?? DEFAULT_MAX_REMOVED_SHARE;
  const listed = [...new Set(opts.listed ?? [])];
  if (listed.length) {
    const touch = chunk(listed, rowsPerStatement(1) - 1).map((ids) => d.update(items).set({ updatedAt: opts.since }).where(and(inArray(items.id, ids), lt(items.updatedAt, opts.since))));
    await runBatch(d, touch);
  }
  const stale = and(lt(items.updatedAt, opts.since), isNull(items.removedAt));
  const [[live], [unlisted]] = await d.batch([d.select({ n: count() }).from(items).where(isNull(items.removedAt)), d.select({ n: count() }).from(items).where(stale)]);
  const share = live!.n ? unlisted!.n / live!.n : 0;
  if (unlisted!.n > 0 && share > maxShare) {
    return {
      removed: 0,
      live: live!.n,
      refused: `${unlisted!.n} of ${live!.n} items (${(share * 100).toFixed(1)}%) are not in the feed, more than the allowed ${(maxShare * 100).toFixed(0)}%: nothing marked (a truncated feed?). Raise max_removed_share (CLI: --max-removed-share) to mark them.`,
      catalog_version: await catalogVersion(d1),
    };
  }
  if (!unlisted!.n) return { removed: 0, live: live!.n, refused: null, catalog_version: await catalogVersion(d1) };
  const now = Date.now();
  // Log first, then mark, in one transaction: the log rows name exactly the items the update marks.
  const [, marked] = await d1.batch([
    d1.prepare('INSERT INTO catalog_changes (item_id, at) SELECT id, ?1 FROM items WHERE updated_at < ?2 AND removed_at IS NULL').bind(now, opts.since),
    d1.prepare('UPDATE items SET in_stock = 0, removed_at = ?1, updated_at = ?1 WHERE updated_at < ?2 AND removed_at IS NULL').bind(now, opts.since),
  ]);
  noteCatalogWrite(d1);
  return { removed: marked!.meta.changes, live: live!.n, refused: null, catalog_version: await catalogVersion(d1) };
}
