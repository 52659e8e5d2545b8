/**
 * Profile compaction (daily cron): profiles idle for longer than PROFILE_RETENTION_DAYS are
 * deleted; the others lose affinities that have decayed to nothing and are cut back to the
 * bounds the session objects use. Updates are conditional on `updated_at`, so a profile a
 * session object flushed in the meantime is left alone (it is compacted on the next run).
 */
import { and, asc, eq, gt } from 'drizzle-orm';
import { db } from '../db/client';
import { profiles } from '../db/schema';
import { LIMITS, topEntries } from '../session/profile';
import { log } from './log';
import { retentionMs } from '../lib/vars';

const PAGE = 500;
/** Affinities below this absolute weight carry no signal. */
export const MIN_AFFINITY = 0.01;

export interface CompactResult {
  deleted: number;
  compacted: number;
  scanned: number;
  /** where the next call continues (null: every profile was seen) */
  next: string | null;
}

/**
 * One call from the start (no `from`) deletes idle profiles, then compacts pages of profiles by
 * key; `maxPages` bounds a call (a step of the daily maintenance workflow), `next` continues it.
 */
export async function compactProfiles(env: Env, now = Date.now(), opts: { from?: string; maxPages?: number } = {}): Promise<CompactResult> {
  const d = db(env.DB);
  const idleBefore = now - retentionMs(env.PROFILE_RETENTION_DAYS, 400);
  const result: CompactResult = { deleted: 0, compacted: 0, scanned: 0, next: null };
  if (opts.from === undefined) {
    // The user → session index (erasure's map) ages out with the profiles: an old session's object
    // and events are gone by then, and erasure still scans the R2 archive for its key.
    const [del] = await env.DB.batch([
      env.DB.prepare('DELETE FROM profiles WHERE last_seen < ?').bind(idleBefore),
      env.DB.prepare('DELETE FROM shopper_sessions WHERE first_seen < ?').bind(idleBefore),
    ]);
    result.deleted = del!.meta.changes ?? 0;
  }
  let cursor = opts.from ?? '';
  for (let pages = 1; ; pages++) {
    const page = await d.select().from(profiles).where(gt(profiles.userKey, cursor)).orderBy(asc(profiles.userKey)).limit(PAGE).all();
    result.scanned += page.length;
    const updates = [];
    for (const p of page) {
      const kept = Object.fromEntries(Object.entries(p.affinities).filter(([, w]) => Math.abs(w) >= MIN_AFFINITY));
      const affinities = topEntries(kept, LIMITS.profileAttrs);
      const recentItems = p.recentItems.slice(0, LIMITS.profileRecent);
      const purchases = p.purchases.slice(0, LIMITS.purchases);
      const changed =
        Object.keys(affinities).length !== Object.keys(p.affinities).length || recentItems.length !== p.recentItems.length || purchases.length !== p.purchases.length;
      if (!changed) continue;
      updates.push(
        d
          .update(profiles)
          .set({ affinities, recentItems, purchases })
          .where(and(eq(profiles.userKey, p.userKey), eq(profiles.updatedAt, p.updatedAt))),
      );
    }
    for (const u of updates) {
      const r = await u.run();
      result.compacted += r.meta.changes ?? 0;
    }
    if (page.length < PAGE) break;
    cursor = page[page.length - 1]!.userKey;
    if (pages >= (opts.maxPages ?? Infinity)) {
      result.next = cursor;
      break;
    }
  }
  log('info', 'profiles_compacted', { ...result, idle_before: idleBefore });
  return result;
}
