/**
 * CTR of recommendations from the event stream: the consumer counts impressions and clicks on
 * recommendations per queue message (rec_ctr, the drift check's CTR stream) and, while a canary
 * runs, per canary arm (canary_ctr), instead of the cron jobs scanning an event table. Rows are
 * keyed by the message's claim, so a redelivery adds nothing.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { chunk, rowsPerStatement, type Db } from '../db/client';
import { canaryCtr, modelRollouts, recCtr, type EventRow } from '../db/schema';
import { armFor } from '../ops/canary';

type Counted = { claim: string; receivedAt: number; rows: EventRow[] };

const relevant = (r: EventRow) => r.recommendationId && (r.type === 'impression' || r.type === 'click');

export async function ctrStatements(d: Db, messages: Counted[]): Promise<BatchItem<'sqlite'>[]> {
  if (!messages.some((m) => m.rows.some(relevant))) return [];
  const totals = messages
    .map((m) => ({
      claim: m.claim,
      receivedAt: m.receivedAt,
      impressions: m.rows.filter((r) => relevant(r) && r.type === 'impression').length,
      clicks: m.rows.filter((r) => relevant(r) && r.type === 'click').length,
    }))
    .filter((t) => t.impressions || t.clicks);
  const out: BatchItem<'sqlite'>[] = chunk(totals, rowsPerStatement(4)).map((part) => d.insert(recCtr).values(part).onConflictDoNothing());
  return [...out, ...(await canaryCtrStatements(d, messages))];
}

async function canaryCtrStatements(d: Db, messages: Counted[]): Promise<BatchItem<'sqlite'>[]> {
  const running = await d
    .select({ id: modelRollouts.id, share: modelRollouts.share, startedAt: modelRollouts.startedAt })
    .from(modelRollouts)
    .where(eq(modelRollouts.status, 'running'))
    .get();
  if (!running) return [];
  const out: (typeof canaryCtr.$inferInsert)[] = [];
  for (const m of messages) {
    if (m.receivedAt < running.startedAt) continue;
    const arms = { canary: { impressions: 0, clicks: 0 }, stable: { impressions: 0, clicks: 0 } };
    for (const r of m.rows) {
      if (!relevant(r)) continue;
      const a = arms[armFor(running.id, r.sessionKey, running.share)];
      if (r.type === 'impression') a.impressions++;
      else a.clicks++;
    }
    for (const arm of ['canary', 'stable'] as const) {
      if (arms[arm].impressions || arms[arm].clicks) out.push({ rolloutId: running.id, claim: m.claim, arm, ...arms[arm] });
    }
  }
  return chunk(out, rowsPerStatement(5)).map((part) => d.insert(canaryCtr).values(part).onConflictDoNothing());
}
