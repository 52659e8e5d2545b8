/**
 * Right to erasure: the steps that delete everything held about a shopper. The erasure workflow
 * (worker/privacy/erase-workflow.ts) runs them in this order, each as a durable step; every step
 * is safe to run again after a crash:
 *  0. tombstones for the shopper's keys (worker/privacy/tombstones.ts), before anything is
 *     deleted, so events of theirs still in the queue are dropped when they arrive;
 *  1. events held in the event buffer, then session objects (the user's own (session, user)
 *     objects and the named sessions'), so no queued profile change (or its alarm) re-creates the
 *     profile;
 *  2. D1, in one batch: attribution rows derived from the shopper, events, profile;
 *  3. the R2 event log (the consumer's objects and the legacy exports), one page of objects per
 *     step; each object's manifest row is set before the object is rewritten. The user's sessions
 *     found only there have their (session, user) objects erased as in 1 (their events went by the
 *     user key);
 *  4. access exports of the shopper still kept in R2, then, last, the user → session index (until
 *     then, a retry after a failure finds every session again) with the console's visitor marks of
 *     every session found (kpi_visitors; the consumer may still have been writing them), then the
 *     receipt log entry.
 */
import { chunk } from '../db/client';
import { bufferStub } from '../events/buffer-client';
import { LOG_PREFIX } from '../events/log-store';
import type { ErasureCounts, ErasureReceipt, ShopperExport } from '../schemas/shoppers';
import { sessionStub } from '../session/client';
import { changingSession } from '../session/features-cache';
import { ACCESS_EXPORT_PREFIX } from './access';
import { archivePage, eraseArchivedEvents, type ArchiveChange, type ArchivePosition } from './archive';
import { allSessionKeys, keysJson, type Subject, type SubjectKeys } from './subject';

/** Session objects erased in one step, in parallel. */
export const SESSIONS_PER_STEP = 16;
const IN = (n: number) => `IN (SELECT value FROM json_each(?${n}))`;

export const emptyCounts = (): ErasureCounts => ({
  d1: { events: 0, profiles: 0, rec_served: 0, rec_purchases: 0, shopper_sessions: 0, kpi_visitors: 0 },
  durable_objects: { sessions_erased: 0, rows: 0, pending_profile_events: 0, alarms_cleared: 0, buffered_events: 0 },
  r2: { objects_scanned: 0, objects_rewritten: 0, objects_deleted: 0, rows_removed: 0 },
});

export type SessionObject = { sessionKey: string; userKey: string | null };

/** Step 1: one chunk of (session, shopper) objects (storage and alarm). */
export async function eraseSessions(env: Env, objects: SessionObject[]): Promise<Omit<ErasureCounts['durable_objects'], 'buffered_events'>> {
  const out = { sessions_erased: 0, rows: 0, pending_profile_events: 0, alarms_cleared: 0 };
  for (const r of await Promise.all(objects.map((o) => changingSession(o.sessionKey, () => sessionStub(env, o.sessionKey, o.userKey).erase())))) {
    out.sessions_erased++;
    out.rows += r.rows;
    out.pending_profile_events += r.pending_profile_events;
    if (r.alarm_cleared) out.alarms_cleared++;
  }
  return out;
}

/** Step 1: events waiting in the buffer (held while the queue failed) would otherwise be stored after the erasure. */
export async function eraseBuffered(env: Env, s: SubjectKeys): Promise<number> {
  return bufferStub(env).erase(s.userKey, s.sessionKeys);
}

/** Step 2: D1 rows of the shopper. */
export async function eraseD1Rows(env: Env, s: Subject): Promise<Record<string, number>> {
  const { sessions, units } = keysJson(s);
  const mine = `(user_key = ?1 OR session_key ${IN(2)})`;
  const u = s.userKey;
  const steps: [string, D1PreparedStatement][] = [
    // Derived rows first, while the events and served records that identify them are still there.
    [
      'rec_purchases',
      env.DB.prepare(`DELETE FROM rec_purchases WHERE event_id IN (SELECT event_id FROM events WHERE ${mine}) OR recommendation_id IN (SELECT recommendation_id FROM rec_served WHERE unit_key ${IN(3)})`).bind(u, sessions, units),
    ],
    ['rec_served', env.DB.prepare(`DELETE FROM rec_served WHERE unit_key ${IN(1)}`).bind(units)],
    ['events', env.DB.prepare(`DELETE FROM events WHERE ${mine}`).bind(u, sessions)],
    ['profiles', env.DB.prepare('DELETE FROM profiles WHERE user_key = ?1').bind(u)],
  ];
  const results = await env.DB.batch(steps.map(([, st]) => st));
  return Object.fromEntries(steps.map(([table], i) => [table, results[i]!.meta.changes ?? 0]));
}

/**
 * The D1 records of an R2 object about to be rewritten, as absolute values: the log's manifest
 * (event_log_objects), the legacy export run's parts, and attribution rows of the purchases in it.
 */
function recordStatements(env: Env, c: ArchiveChange): D1PreparedStatement[] {
  const out = [env.DB.prepare(`DELETE FROM rec_purchases WHERE event_id ${IN(1)}`).bind(JSON.stringify(c.purchases))];
  if (c.key.startsWith(LOG_PREFIX)) {
    const t = c.types;
    out.push(
      c.rows
        ? env.DB.prepare('UPDATE event_log_objects SET rows = ?2, bytes = ?3, views = ?4, clicks = ?5, carts = ?6, purchases = ?7, impressions = ?8 WHERE key = ?1').bind(c.key, c.rows, c.bytes, t.views, t.clicks, t.carts, t.purchases, t.impressions)
        : env.DB.prepare('DELETE FROM event_log_objects WHERE key = ?1').bind(c.key),
    );
  }
  if (c.run) {
    out.push(
      env.DB.prepare(
        `UPDATE export_runs SET parts = (
           SELECT json_group_array(CASE WHEN json_extract(value, '$.key') = ?2 THEN json_object('key', ?2, 'rows', ?3, 'bytes', ?4) ELSE json(value) END)
           FROM json_each(export_runs.parts) WHERE ?3 > 0 OR json_extract(value, '$.key') != ?2)
         WHERE id = ?1`,
      ).bind(c.run, c.key, c.rows, c.bytes),
      env.DB.prepare(`UPDATE export_runs SET rows = (SELECT COALESCE(SUM(json_extract(value, '$.rows')), 0) FROM json_each(export_runs.parts)) WHERE id = ?1`).bind(c.run),
    );
  }
  return out;
}

export interface ArchivePageErasure {
  r2: ErasureCounts['r2'];
  rec_purchases: number;
  newSessions: string[];
  next: ArchivePosition | null;
}

/** Step 3: one page of event-log objects. */
export async function eraseArchivePage(env: Env, s: Subject, pos: ArchivePosition): Promise<ArchivePageErasure> {
  const { keys, next } = await archivePage(env.EXPORTS, pos);
  let recPurchases = 0;
  const r = await eraseArchivedEvents(env.EXPORTS, s, keys, async (c) => {
    const [purchases] = await env.DB.batch(recordStatements(env, c));
    recPurchases += purchases!.meta.changes ?? 0;
  });
  const { newSessions, ...r2 } = r;
  return { r2, rec_purchases: recPurchases, newSessions, next };
}

/** Step 4: access-export documents about the shopper that are still kept (worker/privacy/access.ts). */
export async function eraseAccessExports(env: Env, s: Subject): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await env.EXPORTS.list({ prefix: ACCESS_EXPORT_PREFIX, cursor });
    for (const o of page.objects) {
      const doc = await env.EXPORTS.get(o.key);
      const subject = doc ? ((await doc.json()) as Pick<ShopperExport, 'subject'>).subject : null;
      const theirs = subject && ((s.userKey !== null && subject.user_key === s.userKey) || (subject.user_key === null && subject.session_keys.some((k) => s.sessionKeys.has(k))));
      if (theirs) (await env.EXPORTS.delete(o.key), deleted++);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** Step 4: the user → session index, then the receipt (the log keeps when and how much, never whose). */
export async function finishErasure(env: Env, s: Subject, receiptId: string, counts: ErasureCounts): Promise<ErasureReceipt> {
  const { sessions } = keysJson(s);
  const [index, marks] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM shopper_sessions WHERE user_key = ?1 OR session_key ${IN(2)}`).bind(s.userKey, sessions),
    // Every session found (the user's too): a mark holds nothing but the session key and the day.
    env.DB.prepare(`DELETE FROM kpi_visitors WHERE session_key ${IN(1)}`).bind(JSON.stringify(allSessionKeys(s))),
  ]);
  counts.d1.shopper_sessions = index!.meta.changes ?? 0;
  counts.d1.kpi_visitors = marks!.meta.changes ?? 0;
  const receipt: ErasureReceipt = { receipt_id: receiptId, erased_at: new Date().toISOString(), subject: { user_key: s.userKey, session_keys: allSessionKeys(s) }, ...counts };
  await env.DB.prepare('INSERT INTO erasure_receipts (id, erased_at, counts) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING')
    .bind(receipt.receipt_id, Date.parse(receipt.erased_at), JSON.stringify(counts))
    .run();
  return receipt;
}

export const sessionChunks = <T>(objects: T[]) => chunk(objects, SESSIONS_PER_STEP);
