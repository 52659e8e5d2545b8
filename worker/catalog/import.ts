/**
 * Applying a parsed catalog feed (worker/catalog/feeds/): upsert its valid items, then, for a full
 * feed, mark what it no longer lists (worker/catalog/removals.ts). Used by the admin API's
 * POST /v1/admin/catalog/import (one call) and the scheduled pull (worker/catalog/feed-pull.ts, in chunks).
 */
import type { ParsedFeed } from './feeds';
import { markUnlisted, type RemovalResult } from './removals';
import { upsertItemsAt } from './writes';

export interface FullFeedOptions {
  /** The time of the feed's first write: items not written since are not in the feed. */
  since: number;
  maxRemovedShare?: number;
}

/** Removal marks after every chunk of a full feed is written; refused for a feed that was cut off. */
export async function finishFullFeed(d1: D1Database, feed: Pick<ParsedFeed, 'complete' | 'rejected'>, o: FullFeedOptions): Promise<RemovalResult> {
  if (!feed.complete) return { removed: 0, live: 0, refused: 'the feed ended early (cut off?): nothing marked removed', catalog_version: 0 };
  // A bad row still lists its item: a typo must not take the item off the shelf.
  const listed = feed.rejected.flatMap((r) => (r.item_id ? [r.item_id] : []));
  return markUnlisted(d1, { since: o.since, listed, maxShare: o.maxRemovedShare });
}

export interface AppliedFeed {
  upserted: number;
  written_at: number;
  catalog_version: number;
  removal: RemovalResult | null;
}

export async function applyFeed(d1: D1Database, feed: ParsedFeed, o: { full: boolean; maxRemovedShare?: number }): Promise<AppliedFeed> {
  const w = await upsertItemsAt(d1, feed.items);
  const removal = o.full ? await finishFullFeed(d1, feed, { since: w.writtenAt, maxRemovedShare: o.maxRemovedShare }) : null;
  return { upserted: feed.items.length, written_at: w.writtenAt, catalog_version: removal?.catalog_version || w.version, removal };
}
