/**
 * Erasure tombstones: events of an erased shopper that were still in the events queue when the
 * erasure ran must not reach the R2 log, D1 or a session object afterwards.
 *
 * The erasure records a tombstone (pseudonymous user or session key → erasure start time) before
 * it touches any store; the queue consumer calls dropErased() first on every batch and drops each
 * row whose session or user key has a tombstone at or after the time the worker accepted it.
 * Events accepted after the erasure started are new activity and are kept. A tombstone lives
 * TOMBSTONE_DAYS, longer than a message can wait in the queue (4 days' retention), then the daily
 * maintenance workflow removes it. The table holds a SHA-256 of each key, not the key: it does
 * not list whose data was erased, yet the consumer can match the keys it holds.
 */
import { chunk } from '../db/client';
import { sha256Hex } from '../lib/digest';
import { DAY_MS } from '../lib/vars';
import type { EventMessage } from '../events/message';

export const TOMBSTONE_DAYS = 7;
/** Keys per lookup statement (a JSON array parameter). */
const LOOKUP_KEYS = 500;

const digest = (key: string) => sha256Hex(new TextEncoder().encode(key));

export async function recordTombstones(d1: D1Database, keys: string[], erasedAt: number): Promise<void> {
  if (!keys.length) return;
  const digests = await Promise.all(keys.map(digest));
  await d1.batch(
    chunk(digests, LOOKUP_KEYS).map((part) =>
      d1
        .prepare(
          'INSERT INTO erasure_tombstones (key, erased_at) SELECT value, ?2 FROM json_each(?1) WHERE true ON CONFLICT(key) DO UPDATE SET erased_at = MAX(erased_at, excluded.erased_at)',
        )
        .bind(JSON.stringify(part), erasedAt),
    ),
  );
}

/** Up to this many tombstones are read whole (one small query); more are looked up by key. */
const READ_ALL = 2000;

/**
 * Remove, in place, the rows of erased shoppers that were accepted before their erasure started.
 * One D1 read per consumer batch; when no erasure ran in the last TOMBSTONE_DAYS (the usual case)
 * it finds nothing and no key is hashed. Returns how many rows it dropped.
 */
export async function dropErased(d1: D1Database, messages: EventMessage[]): Promise<number> {
  const keys = new Set<string>();
  for (const m of messages) for (const r of m.rows) (keys.add(r.sessionKey), r.userKey && keys.add(r.userKey));
  if (!keys.size) return 0;
  const { results: all } = await d1.prepare('SELECT key, erased_at FROM erasure_tombstones LIMIT ?1').bind(READ_ALL + 1).all<{ key: string; erased_at: number }>();
  if (!all.length) return 0;
  const byDigest = new Map<string, string>();
  await Promise.all([...keys].map(async (k) => byDigest.set(await digest(k), k)));
  let found = all;
  if (all.length > READ_ALL) {
    const looked = await d1.batch<{ key: string; erased_at: number }>(
      chunk([...byDigest.keys()], LOOKUP_KEYS).map((part) => d1.prepare('SELECT key, erased_at FROM erasure_tombstones WHERE key IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(part))),
    );
    found = looked.flatMap((r) => r.results);
  }
  const erasedAt = new Map(found.flatMap((t) => (byDigest.has(t.key) ? [[byDigest.get(t.key)!, t.erased_at] as const] : [])));
  if (!erasedAt.size) return 0;
  let dropped = 0;
  for (const m of messages) {
    const erased = (key: string | null | undefined) => key != null && (erasedAt.get(key) ?? -Infinity) >= m.receivedAt;
    const kept = m.rows.filter((r) => !erased(r.sessionKey) && !erased(r.userKey));
    dropped += m.rows.length - kept.length;
    m.rows = kept;
  }
  return dropped;
}

export async function expireTombstones(d1: D1Database, now: number): Promise<number> {
  const r = await d1.prepare('DELETE FROM erasure_tombstones WHERE erased_at < ?1').bind(now - TOMBSTONE_DAYS * DAY_MS).run();
  return r.meta.changes ?? 0;
}
