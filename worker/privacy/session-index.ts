/**
 * The user → sessions index (D1 `shopper_sessions`, pseudonymous keys only). Erasure and access
 * find a user's session Durable Objects through it, also after retention trimmed the event log.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import { chunk, rowsPerStatement, type Db } from '../db/client';
import { shopperSessions, type EventRow } from '../db/schema';

type Link = typeof shopperSessions.$inferInsert;

/** Record that `userKey` was seen in `sessionKey` (no-op when already known). */
export function linkStatement(d: Db, links: Link[]) {
  return d.insert(shopperSessions).values(links).onConflictDoNothing();
}

/** The (user, session) pairs of a batch of events, as statements for the ingestion batch. */
export function sessionLinkStatements(d: Db, rows: EventRow[]): BatchItem<'sqlite'>[] {
  const pairs = new Map<string, Link>();
  for (const r of rows) {
    if (!r.userKey) continue;
    const k = `${r.userKey}\u0000${r.sessionKey}`;
    const seen = pairs.get(k);
    if (!seen || r.ts < seen.firstSeen) pairs.set(k, { userKey: r.userKey, sessionKey: r.sessionKey, firstSeen: r.ts });
  }
  return chunk([...pairs.values()], rowsPerStatement(3)).map((part) => linkStatement(d, part));
}
