/**
 * The queue consumer (queue() in worker/index.ts): accepted events → dedupe → R2 log → D1.
 *  1. each session object is called once for the whole consumer batch (claim()): it drops
 *     event_ids it already holds under another claim and applies new events to the features;
 *  2. one R2 object per message with the events its claim owns (worker/events/log-store.ts);
 *  3. one D1 batch: experiment attribution, the user → session index, the log's manifest
 *     (event_log_objects), CTR counts (rec_ctr, canary_ctr) and the console's KPI rollups
 *     (kpi_rollups, worker/events/kpi-rollup.ts), all idempotent.
 * A message is acked only when all three are done for it, else retried. Every step is safe to
 * repeat for the same message, so a redelivery or a crash mid-batch stores each event once.
 */
import { chunk, db, rowsPerStatement, runBatch } from '../db/client';
import { eventLogObjects, type EventRow } from '../db/schema';
import { attributeAfterInsert, planEventAttribution } from '../experiments/ingest-hooks';
import { log } from '../ops/log';
import { sessionLinkStatements } from '../privacy/session-index';
import { dropErased } from '../privacy/tombstones';
import { kpiStatements } from './kpi-rollup';
import { ctrStatements } from './rec-ctr';
import { writeLogObject, type LogObject } from './log-store';
import type { EventMessage } from './message';
import { sessionObjectName } from '../session/client';
import { claimAll, groupBySession } from './session-feed';

export interface ConsumeResult {
  messages: number;
  stored: number;
  duplicates: number;
  retried: number;
}

/** Backoff of a retried message: 5 s, doubling per attempt, at most 60 s. */
const retryDelay = (attempts: number) => Math.min(60, 5 * 2 ** Math.max(0, attempts - 1));

export async function consumeEvents(batch: MessageBatch<EventMessage>, env: Env, ctx?: Pick<ExecutionContext, 'waitUntil'>): Promise<ConsumeResult> {
  const waitUntil = ctx ? (p: Promise<unknown>) => ctx.waitUntil(p) : undefined;
  const msgs = batch.messages.filter((m) => {
    if (m.body?.v === 1 && Array.isArray(m.body.rows)) return true;
    log('error', 'event_message_invalid', { id: m.id });
    m.ack(); // retrying cannot make it readable
    return false;
  });
  const result: ConsumeResult = { messages: msgs.length, stored: 0, duplicates: 0, retried: 0 };
  // Rows of shoppers erased after they were accepted never reach a store (worker/privacy/tombstones.ts).
  // Unchecked rows are not stored anywhere: if D1 cannot say, every message waits for a retry.
  const erased = await dropErased(env.DB, msgs.map((m) => m.body)).catch((e: Error) => e);
  if (erased instanceof Error) {
    log('error', 'erasure_tombstones_unreadable', { messages: msgs.length, error: erased.message });
    for (const m of msgs) m.retry({ delaySeconds: retryDelay(m.attempts) });
    return { ...result, retried: msgs.length };
  }
  if (erased) log('info', 'erased_events_dropped', { rows: erased });
  const failed = new Set<string>();
  const groups = await groupBySession(env, msgs.map((m) => m.body), waitUntil);
  const claims = await claimAll(env, groups);

  // The rows each claim owns, with last-touch recommendations filled in for attribution.
  const owned = new Map<string, EventRow[]>();
  const forD1 = new Map<string, EventRow[]>();
  const repeat = new Map<string, Set<string>>();
  for (const m of msgs) {
    const keep: EventRow[] = [];
    const repeats = new Set<string>();
    const attributed: EventRow[] = [];
    for (const r of m.body.rows) {
      const c = claims.get(sessionObjectName(r.sessionKey, r.userKey ?? null));
      if (!c || c instanceof Error) {
        failed.add(m.body.claim);
        continue;
      }
      const mine = c[m.body.claim];
      if (!mine?.stored.includes(r.eventId)) continue;
      keep.push(r);
      if (mine.repeat?.includes(r.eventId)) repeats.add(r.eventId);
      const touch = mine.touches.find((t) => t.eventId === r.eventId)?.rec;
      attributed.push(touch ? { ...r, recommendationId: touch } : r);
    }
    owned.set(m.body.claim, keep);
    forD1.set(m.body.claim, attributed);
    repeat.set(m.body.claim, repeats);
  }
  for (const [key, c] of claims) if (c instanceof Error) log('error', 'session_claim_failed', { session: key.slice(0, 8), error: c.message });

  const written = new Map<string, LogObject>();
  await Promise.all(
    msgs.map(async (m) => {
      const rows = owned.get(m.body.claim)!;
      if (failed.has(m.body.claim) || !rows.length) return;
      try {
        written.set(m.body.claim, await writeLogObject(env.EXPORTS, m.body.claim, m.body.receivedAt, rows));
      } catch (e) {
        failed.add(m.body.claim);
        log('error', 'event_log_write_failed', { claim: m.body.claim, rows: rows.length, error: (e as Error).message });
      }
    }),
  );

  const done = msgs.filter((m) => !failed.has(m.body.claim));
  const d1Rows = done.flatMap((m) => forD1.get(m.body.claim)!);
  const objects = [...new Map(done.flatMap((m) => (written.has(m.body.claim) ? [[m.body.claim, written.get(m.body.claim)!] as const] : []))).values()];
  if (d1Rows.length || objects.length) {
    try {
      const d = db(env.DB);
      const attribution = await planEventAttribution(env, d, d1Rows);
      const manifest = chunk(objects, rowsPerStatement(8)).map((part) =>
        d
          .insert(eventLogObjects)
          .values(part)
          .onConflictDoNothing(),
      );
      const ctr = await ctrStatements(d, done.map((m) => ({ claim: m.body.claim, receivedAt: m.body.receivedAt, rows: owned.get(m.body.claim)! })));
      // Read before the manifest rows are written: a message already in the manifest is not counted again.
      const kpi = await kpiStatements(
        d,
        done.flatMap((m) => {
          const o = written.get(m.body.claim);
          return o ? [{ key: o.key, receivedAt: m.body.receivedAt, rows: forD1.get(m.body.claim)!, repeat: repeat.get(m.body.claim)! }] : [];
        }),
      );
      const all = await runBatch(d, [...attribution.statements, ...sessionLinkStatements(d, d1Rows), ...manifest, ...ctr, ...kpi]);
      await attributeAfterInsert(env, attribution, all, waitUntil);
    } catch (e) {
      log('error', 'event_d1_write_failed', { rows: d1Rows.length, error: (e as Error).message });
      for (const m of done) failed.add(m.body.claim);
    }
  }

  for (const m of msgs) {
    if (failed.has(m.body.claim)) {
      result.retried++;
      m.retry({ delaySeconds: retryDelay(m.attempts) });
    } else {
      m.ack();
      const n = owned.get(m.body.claim)!.length;
      result.stored += n;
      result.duplicates += m.body.rows.length - n;
    }
  }
  log(result.retried ? 'warn' : 'info', 'events_consumed', { ...result });
  return result;
}
