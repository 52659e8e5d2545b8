/**
 * Canary CTR from the event stream: the consumer counts impressions and clicks on recommendations
 * per canary arm and queue message (canary_ctr), instead of the canary rule scanning an event
 * table. A message's row is keyed by its claim, so a redelivery adds nothing.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import { canaryCtr, modelRollouts, type EventRow } from '../db/schema';
import { armFor } from '../ops/canary';

type Counted = { claim: string; receivedAt: number; rows: EventRow[] };

export async function canaryCtrStatements(d: Db, messages: Counted[]): Promise<BatchItem<'sqlite'>[]> {
  const relevant = (r: EventRow) => r.recommendationId && (r.type === 'impression' || r.type === 'click');
  if (!messages.some((m) => m.rows.some(relevant))) return [];
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
  return out.length ? [d.insert(canaryCtr).values(out).onConflictDoNothing()] : [];
}
