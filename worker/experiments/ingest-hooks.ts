/** The two calls event ingestion makes into attribution (kept here so ingest.ts changes little). */
import type { Db } from '../db/client';
import type { EventRow } from '../db/schema';
import { feedBandits, flushServed, needsAttribution, planAttribution, type AttributionPlan } from './attribution';
import type { Experiment } from './config';
import { getRunning } from './store';
import { log } from '../ops/log';

const EMPTY: AttributionPlan = { statements: [], kinds: [] };

export async function planEventAttribution(env: Env, d: Db, rows: EventRow[]): Promise<AttributionPlan> {
  if (!needsAttribution(rows)) return EMPTY;
  // Served records this isolate is still writing must land before we attribute to them.
  await flushServed(env.DB);
  return planAttribution(env.DB, d, rows);
}

export async function attributeAfterInsert(env: Env, plan: AttributionPlan, results: unknown[], waitUntil?: (p: Promise<unknown>) => void): Promise<void> {
  if (!plan.statements.length) return;
  try {
    const running = await getRunning(env.DB, waitUntil);
    const byId = new Map<string, Experiment>([...running.bySlot.values()].map((e) => [e.id, e]));
    await feedBandits(env, plan, results, byId);
  } catch (e) {
    // The outcome is recorded in D1 either way; only the bandit's online update is lost.
    log('error', 'bandit_feed_failed', { error: (e as Error).message });
  }
}
