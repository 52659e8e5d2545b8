/**
 * Attribution: which recommendation (and so which experiment variant or bandit arm) produced
 * an impression, click, add-to-cart or purchase — exactly once, inside the experiment's window.
 *
 * - Serving: every recommendation served inside an experiment leaves a compact `rec_served`
 *   row. Rows are buffered per isolate and written in one batch shortly after the response
 *   (waitUntil), so concurrent requests share a D1 write.
 * - Ingestion: attribution statements run in the same D1 batch (one transaction) as the event
 *   insert. Impressions, clicks and add-to-carts set their timestamp on the rec_served row only
 *   while it is NULL, so duplicates and retries change nothing; a purchase is one row in
 *   `rec_purchases` keyed by its event id (directly via its recommendation_id, else last touch:
 *   the shopper's latest click / add-to-cart of the same item on an experiment recommendation).
 * - A recommendation id is bound to whoever received it: an event attributes to it only when
 *   it comes from the session it was served to, or from the same assignment unit (the user, or
 *   the session for rows written before session_key existed). Anyone else's recommendation_id is
 *   ignored, so nobody can click or buy on another shopper's recommendation.
 * - The rows an UPDATE … RETURNING reports are exactly the first-time outcomes; those feed the
 *   bandits.
 */
import { sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { sendBanditUpdates } from '../bandits/client';
import type { BanditDelta } from '../bandits/durable-object';
import { chunk, db, rowsPerStatement, runBatch, type Db } from '../db/client';
import { recServed, type EventRow, type RecServedRow } from '../db/schema';
import type { Experiment } from './config';
import { log } from '../ops/log';

// ---- served recommendations ------------------------------------------------------------

interface Buffer {
  rows: RecServedRow[];
  flushing: Promise<void> | null;
}

const buffers = new WeakMap<D1Database, Buffer>();
const MAX_BUFFER = 2000;
const COALESCE_MS = 25;

function bufferFor(d1: D1Database): Buffer {
  let b = buffers.get(d1);
  if (!b) {
    b = { rows: [], flushing: null };
    buffers.set(d1, b);
  }
  return b;
}

async function writeRows(d1: D1Database, rows: RecServedRow[]): Promise<void> {
  const d = db(d1);
  const stmts = chunk(rows, rowsPerStatement(12)).map((part) => d.insert(recServed).values(part).onConflictDoNothing({ target: recServed.recommendationId }));
  try {
    await runBatch(d, stmts);
  } catch (e) {
    // One retry; after that the recommendations stay unattributed (the event log still has the events).
    try {
      await runBatch(d, stmts);
    } catch {
      log('error', 'rec_served_write_failed', { rows: rows.length, error: (e as Error).message });
    }
  }
}

/** Queue a served recommendation; the write joins whatever else this isolate serves in the next few ms. */
export function recordServed(d1: D1Database, row: RecServedRow, waitUntil?: (p: Promise<unknown>) => void): void {
  const b = bufferFor(d1);
  b.rows.push(row);
  if (b.rows.length > MAX_BUFFER) b.rows.splice(0, b.rows.length - MAX_BUFFER);
  if (!b.flushing) {
    b.flushing = (async () => {
      await new Promise((r) => setTimeout(r, COALESCE_MS));
      while (b.rows.length) await writeRows(d1, b.rows.splice(0, b.rows.length));
    })().finally(() => (b.flushing = null));
  }
  waitUntil?.(b.flushing);
}

/** Wait for this isolate's pending served-rec writes (ingestion calls this before attributing). */
export async function flushServed(d1: D1Database): Promise<void> {
  const b = buffers.get(d1);
  while (b?.flushing) await b.flushing;
}

// ---- attribution at ingestion ----------------------------------------------------------

type Outcome = 'impression' | 'click' | 'cart' | 'conversion';

export interface AttributedRow {
  recommendation_id: string;
  experiment_id: string;
  variant: string;
  context: string;
}

export interface AttributionPlan {
  statements: BatchItem<'sqlite'>[];
  /** outcome of each statement's RETURNING rows (null: statement returns nothing useful) */
  kinds: (Outcome | null)[];
}

const COLUMN = { impression: 'impressed_at', click: 'clicked_at', cart: 'carted_at' } as const;

/**
 * drizzle's D1 batch() cannot run raw `sql` queries that have parameters (it expects a
 * prepared statement they lack), so raw queries join the batch through this adapter.
 */
function batchable(d1: D1Database, q: { getQuery(): { sql: string; params: unknown[] }; mapResult(r: unknown, batch?: boolean): unknown }): BatchItem<'sqlite'> {
  const built = q.getQuery();
  const prepared = { getQuery: () => built, stmt: d1.prepare(built.sql), mapResult: (r: unknown, b?: boolean) => q.mapResult(r, b) };
  return { _prepare: () => prepared } as unknown as BatchItem<'sqlite'>;
}

/** (recommendation id, time, event's session key, event's user key) */
type Touch = [string, number, string, string | null];

/** SQL condition: the served row `s` belongs to the event's session or user (see the top of the file). */
const boundTo = (s: string, sessionKey: unknown, userKey: unknown) =>
  sql`(${sql.raw(s)}.session_key = ${sessionKey} OR ${sql.raw(s)}.unit_key = ${sessionKey} OR ${sql.raw(s)}.unit_key = ${userKey})`;

function firstTouch(d1: D1Database, d: Db, kind: keyof typeof COLUMN, touches: Touch[]) {
  const col = sql.raw(COLUMN[kind]);
  const json = JSON.stringify(touches);
  return batchable(d1, d.all<AttributedRow>(sql`
    UPDATE rec_served SET ${col} = j.ts
    FROM (SELECT b.recommendation_id AS rid, MIN(json_extract(t.value, '$[1]')) AS ts
          FROM json_each(${json}) AS t JOIN rec_served b ON b.recommendation_id = json_extract(t.value, '$[0]')
          WHERE ${boundTo('b', sql`json_extract(t.value, '$[2]')`, sql`json_extract(t.value, '$[3]')`)}
          GROUP BY b.recommendation_id) AS j
    WHERE rec_served.recommendation_id = j.rid AND rec_served.${col} IS NULL AND j.ts <= rec_served.served_at + rec_served.window_ms
    RETURNING recommendation_id, experiment_id, variant, context`) as never);
}

/** Statements that attribute a batch of (new or repeated) events; safe to run for duplicates. */
export function planAttribution(d1: D1Database, d: Db, rows: EventRow[]): AttributionPlan {
  const plan: AttributionPlan = { statements: [], kinds: [] };
  const seen: Record<'impression' | 'click' | 'cart', Touch[]> = { impression: [], click: [], cart: [] };
  const purchases: EventRow[] = [];
  for (const r of rows) {
    if (r.type === 'purchase') purchases.push(r);
    if (!r.recommendationId) continue;
    const touch: Touch = [r.recommendationId, r.ts, r.sessionKey, r.userKey ?? null];
    // A click or add-to-cart means the recommendation was seen, even if its impression event got lost.
    if (r.type === 'impression' || r.type === 'click' || r.type === 'add_to_cart') seen.impression.push(touch);
    if (r.type === 'click') seen.click.push(touch);
    if (r.type === 'add_to_cart') seen.cart.push(touch);
  }
  for (const kind of ['impression', 'click', 'cart'] as const) {
    if (!seen[kind].length) continue;
    plan.statements.push(firstTouch(d1, d, kind, seen[kind]));
    plan.kinds.push(kind);
  }
  for (const p of purchases) {
    const value = p.value ?? 0;
    const target = p.recommendationId
      ? sql`${p.recommendationId}`
      : sql`(SELECT e.recommendation_id FROM events e JOIN rec_served s2 ON s2.recommendation_id = e.recommendation_id
             WHERE e.item_id = ${p.itemId} AND e.type IN ('click', 'add_to_cart') AND e.ts <= ${p.ts}
               AND (e.session_key = ${p.sessionKey} OR e.user_key = ${p.userKey ?? null})
               AND ${p.ts} <= s2.served_at + s2.window_ms
             ORDER BY e.ts DESC LIMIT 1)`;
    plan.statements.push(
      batchable(d1, d.run(sql`
        INSERT OR IGNORE INTO rec_purchases (event_id, recommendation_id, value, ts)
        SELECT ${p.eventId}, s.recommendation_id, ${value}, ${p.ts} FROM rec_served s
        WHERE s.recommendation_id = ${target} AND ${p.ts} <= s.served_at + s.window_ms AND ${boundTo('s', p.sessionKey, p.userKey ?? null)}`) as never),
    );
    plan.kinds.push(null);
  }
  if (purchases.length) {
    const ids = JSON.stringify(purchases.map((p) => p.eventId));
    plan.statements.push(
      batchable(d1, d.all<AttributedRow>(sql`
        UPDATE rec_served SET converted_at = p.ts FROM rec_purchases p
        WHERE p.event_id IN (SELECT value FROM json_each(${ids})) AND rec_served.recommendation_id = p.recommendation_id AND rec_served.converted_at IS NULL
        RETURNING recommendation_id, experiment_id, variant, context`) as never),
    );
    plan.kinds.push('conversion');
  }
  return plan;
}

/** Does this batch need attribution at all? */
export function needsAttribution(rows: EventRow[]): boolean {
  return rows.some((r) => r.recommendationId || r.type === 'purchase');
}

/**
 * Turn first-time outcomes into bandit updates: an impression is a trial, a click (or a
 * conversion, for experiments on conversion) a success; one shard RPC per experiment.
 */
export async function feedBandits(env: Env, plan: AttributionPlan, results: unknown[], running: Map<string, Experiment>): Promise<number> {
  const byExp = new Map<string, Map<string, BanditDelta>>();
  plan.kinds.forEach((kind, i) => {
    if (!kind || kind === 'cart') return;
    for (const row of (results[i] as AttributedRow[] | undefined) ?? []) {
      const exp = running.get(row.experiment_id);
      if (!exp || exp.kind !== 'bandit') continue;
      const success = (kind === 'click' && exp.metric === 'click') || (kind === 'conversion' && exp.metric === 'conversion');
      if (kind !== 'impression' && !success) continue;
      const m = byExp.get(exp.id) ?? new Map<string, BanditDelta>();
      byExp.set(exp.id, m);
      const key = `${row.context}\u0000${row.variant}`;
      const dlt = m.get(key) ?? { context: row.context, arm: row.variant, trials: 0, successes: 0 };
      if (kind === 'impression') dlt.trials += 1;
      else dlt.successes += 1;
      m.set(key, dlt);
    }
  });
  let sent = 0;
  await Promise.all(
    [...byExp].map(async ([id, m]) => {
      const exp = running.get(id)!;
      const deltas = [...m.values()];
      const batchId = crypto.randomUUID();
      try {
        await sendBanditUpdates(env, exp, deltas, batchId);
        sent += deltas.length;
      } catch {
        // one retry with the same batch id: the shard applies a batch at most once
        await sendBanditUpdates(env, exp, deltas, batchId).then(
          () => (sent += deltas.length),
          (e: Error) => log('error', 'bandit_update_failed', { experiment: id, error: e.message }),
        );
      }
    }),
  );
  return sent;
}

