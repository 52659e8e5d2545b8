/**
 * Right to erasure: delete everything held about a shopper, everywhere, and return a receipt.
 * The order is what makes it complete and safe to retry:
 *  1. session objects first (the user's own (session, user) objects, and the named sessions'),
 *     so no queued profile change (or its alarm) re-creates the profile;
 *  2. D1, in one batch: attribution rows derived from the shopper, events, profile;
 *  3. the R2 event log (the consumer's objects and the legacy exports); the user's sessions found
 *     only there have their objects erased as in 1 (their events went by the user key);
 *  4. last, the user → session index (until then, a retry after a failure finds every session
 *     again), then the receipt log entry.
 */
import { chunk } from '../db/client';
import { bufferStub } from '../events/buffer-client';
import { LOG_PREFIX } from '../events/log-store';
import type { ErasureCounts, ErasureReceipt, ShopperRequest } from '../schemas/shoppers';
import { sessionStub } from '../session/client';
import { forgetFeatures } from '../session/features-cache';
import { eraseArchivedEvents, type ArchiveErasure } from './archive';
import { allSessionKeys, keysJson, resolveSubject, sessionObjects, type Subject } from './subject';

/** Session objects erased in parallel, at most this many at a time. */
const DO_PARALLEL = 16;
const IN = (n: number) => `IN (SELECT value FROM json_each(?${n}))`;

async function eraseSessions(env: Env, objects: { sessionKey: string; userKey: string | null }[], into: ErasureCounts['durable_objects']): Promise<void> {
  for (const part of chunk(objects, DO_PARALLEL)) {
    for (const o of part) forgetFeatures(o.sessionKey);
    for (const r of await Promise.all(part.map((o) => sessionStub(env, o.sessionKey, o.userKey).erase()))) {
      into.sessions_erased++;
      into.rows += r.rows;
      into.pending_profile_events += r.pending_profile_events;
      if (r.alarm_cleared) into.alarms_cleared++;
    }
  }
}

async function eraseD1Rows(env: Env, s: Subject, into: ErasureCounts['d1']): Promise<void> {
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
  steps.forEach(([table], i) => (into[table] = (into[table] ?? 0) + (results[i]!.meta.changes ?? 0)));
}

/** Keep the R2 log's manifest (event_log_objects) in step with the rewritten log objects. */
function manifestUpdates(env: Env, parts: ArchiveErasure['changedParts']): D1PreparedStatement[] {
  return parts
    .filter((p) => p.key.startsWith(LOG_PREFIX))
    .map((p) =>
      p.rows
        ? env.DB.prepare('UPDATE event_log_objects SET rows = ?2, bytes = ?3, views = ?4, clicks = ?5, carts = ?6, purchases = ?7, impressions = ?8 WHERE key = ?1').bind(
            p.key,
            p.rows,
            p.bytes,
            p.types.views,
            p.types.clicks,
            p.types.carts,
            p.types.purchases,
            p.types.impressions,
          )
        : env.DB.prepare('DELETE FROM event_log_objects WHERE key = ?1').bind(p.key),
    );
}

/** Keep the export run records in step with the rewritten partitions (rows and bytes per part). */
function exportRunUpdates(env: Env, parts: ArchiveErasure['changedParts']): D1PreparedStatement[] {
  return parts
    .filter((p) => p.run)
    .map((p) =>
      env.DB.prepare(
        `UPDATE export_runs SET rows = MAX(0, rows - ?2), parts = (
           SELECT json_group_array(CASE WHEN json_extract(value, '$.key') = ?3 THEN json_object('key', ?3, 'rows', ?4, 'bytes', ?5) ELSE json(value) END)
           FROM json_each(export_runs.parts) WHERE ?4 > 0 OR json_extract(value, '$.key') != ?3)
         WHERE id = ?1`,
      ).bind(p.run, p.removed, p.key, p.rows, p.bytes),
    );
}

export async function eraseShopper(env: Env, req: ShopperRequest): Promise<ErasureReceipt> {
  const s = await resolveSubject(env, req);
  const counts: ErasureCounts = {
    d1: { events: 0, profiles: 0, rec_served: 0, rec_purchases: 0, shopper_sessions: 0 },
    durable_objects: { sessions_erased: 0, rows: 0, pending_profile_events: 0, alarms_cleared: 0, buffered_events: 0 },
    r2: { objects_scanned: 0, objects_rewritten: 0, objects_deleted: 0, rows_removed: 0 },
  };
  const archivedPurchases: string[] = [];
  const runUpdates: D1PreparedStatement[] = [];
  // Events waiting in the buffer (D1 was down) would otherwise reach D1 after the erasure.
  counts.durable_objects.buffered_events += await bufferStub(env).erase(s.userKey, [...s.sessionKeys]);
  await eraseSessions(env, sessionObjects(s), counts.durable_objects);
  await eraseD1Rows(env, s, counts.d1);
  const r2 = await eraseArchivedEvents(env.EXPORTS, s, (e) => e.type === 'purchase' && archivedPurchases.push(String(e.event_id)));
  counts.r2 = { objects_scanned: r2.objects_scanned, objects_rewritten: r2.objects_rewritten, objects_deleted: r2.objects_deleted, rows_removed: r2.rows_removed };
  runUpdates.push(...exportRunUpdates(env, r2.changedParts), ...manifestUpdates(env, r2.changedParts));
  // The user's sessions found only in the archive: their objects go too (events went by the user key).
  for (const k of r2.newSessions) s.userSessionKeys.add(k);
  await eraseSessions(env, sessionObjects({ ...s, sessionKeys: new Set() }, r2.newSessions), counts.durable_objects);

  const receipt: ErasureReceipt = {
    receipt_id: crypto.randomUUID(),
    erased_at: new Date().toISOString(),
    subject: { user_key: s.userKey, session_keys: allSessionKeys(s) },
    ...counts,
  };
  const { sessions } = keysJson(s);
  const [purchases, index] = await env.DB.batch([
    // Attribution rows of purchases that had already left D1 for the archive.
    env.DB.prepare(`DELETE FROM rec_purchases WHERE event_id ${IN(1)}`).bind(JSON.stringify(archivedPurchases)),
    env.DB.prepare(`DELETE FROM shopper_sessions WHERE user_key = ?1 OR session_key ${IN(2)}`).bind(s.userKey, sessions),
    ...runUpdates,
  ]);
  receipt.d1.rec_purchases! += purchases!.meta.changes ?? 0;
  receipt.d1.shopper_sessions = index!.meta.changes ?? 0;
  // The receipt log keeps when and how much, never whose.
  await env.DB.prepare('INSERT INTO erasure_receipts (id, erased_at, counts) VALUES (?1, ?2, ?3)')
    .bind(receipt.receipt_id, Date.parse(receipt.erased_at), JSON.stringify(counts))
    .run();
  return receipt;
}
