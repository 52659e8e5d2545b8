/** The model registry in D1: which versions exist and which one is active. */
import { and, desc, eq, ne } from 'drizzle-orm';
import { db } from '../db/client';
import { modelRollouts, models, type ModelRow, type RolloutRow } from '../db/schema';
import { ApiError } from '../lib/errors';

export async function activeModel(d1: D1Database): Promise<ModelRow | undefined> {
  return db(d1).select().from(models).where(eq(models.status, 'active')).get();
}

export async function listModels(d1: D1Database): Promise<ModelRow[]> {
  return db(d1).select().from(models).orderBy(desc(models.createdAt)).all();
}

/** Every file of `version` was seen in R2: later loads skip listing its shards. */
export async function markVerified(d1: D1Database, version: string): Promise<void> {
  await db(d1).update(models).set({ verifiedAt: Date.now() }).where(eq(models.version, version)).catch(() => undefined);
}

/** Make `version` the active model; the one it replaces is remembered for rollback. */
export async function activateModel(d1: D1Database, version: string): Promise<ModelRow> {
  const d = db(d1);
  const target = await d.select().from(models).where(eq(models.version, version)).get();
  if (!target) throw new ApiError(404, 'not_found', `model version "${version}" is not registered`);
  const current = await activeModel(d1);
  if (current?.version === version) return current;
  const now = Date.now();
  const stmts = [
    d.update(models).set({ status: 'retired' }).where(eq(models.status, 'active')),
    d
      .update(models)
      .set({ status: 'active', activatedAt: now, previousVersion: current?.version ?? null })
      .where(eq(models.version, version)),
  ] as const;
  await d.batch(stmts);
  return { ...target, status: 'active', activatedAt: now, previousVersion: current?.version ?? null };
}

/** Go back to the version the active one replaced. */
export async function rollbackModel(d1: D1Database): Promise<ModelRow> {
  const current = await activeModel(d1);
  if (!current) throw new ApiError(409, 'no_active_model', 'no model is active');
  if (!current.previousVersion) throw new ApiError(409, 'no_previous_model', `model "${current.version}" has no previous version to roll back to`);
  const restored = await activateModel(d1, current.previousVersion);
  // Rolling back must not make the bad version the new rollback target.
  await db(d1).update(models).set({ previousVersion: null }).where(eq(models.version, restored.version));
  return { ...restored, previousVersion: null };
}

// ---- canary rollouts (issue 7) ----

/** The canary rule's parameters; every field has a default (see docs/operations.md, "Canary"). */
export interface CanaryRule {
  /** requests the canary arm must have served before any decision */
  min_requests: number;
  /** roll back when canary (errors + fallbacks) / requests exceeds the stable arm's by more than this */
  max_bad_rate_delta: number;
  /** impressions each arm needs before CTR is compared; 0 = promote without CTR evidence */
  min_impressions: number;
  /** roll back when canary CTR < stable CTR × (1 − this) */
  max_ctr_drop: number;
}

export const DEFAULT_CANARY_RULE: CanaryRule = { min_requests: 500, max_bad_rate_delta: 0.02, min_impressions: 1000, max_ctr_drop: 0.1 };

export async function runningRollout(d1: D1Database): Promise<RolloutRow | undefined> {
  return db(d1).select().from(modelRollouts).where(eq(modelRollouts.status, 'running')).get();
}

export async function listRollouts(d1: D1Database, limit = 20): Promise<RolloutRow[]> {
  return db(d1).select().from(modelRollouts).orderBy(desc(modelRollouts.startedAt)).limit(limit).all();
}

/** Start serving `version` to `share` of traffic next to the active model. */
export async function startCanary(d1: D1Database, version: string, share: number, rule: CanaryRule): Promise<RolloutRow> {
  const d = db(d1);
  const target = await d.select().from(models).where(eq(models.version, version)).get();
  if (!target) throw new ApiError(404, 'not_found', `model version "${version}" is not registered`);
  const [stable, running] = await Promise.all([activeModel(d1), runningRollout(d1)]);
  if (!stable) throw new ApiError(409, 'no_active_model', 'a canary needs an active model to compare with; activate one first');
  if (stable.version === version) throw new ApiError(409, 'already_active', `model "${version}" is already the active model`);
  if (running) throw new ApiError(409, 'canary_running', `canary ${running.id} (model "${running.version}") is still running; wait for its decision or cancel it`);
  const row: RolloutRow = {
    id: crypto.randomUUID(),
    version,
    stableVersion: stable.version,
    share,
    status: 'running',
    rule: { ...rule },
    startedAt: Date.now(),
    decidedAt: null,
    decision: null,
  };
  await d.insert(modelRollouts).values(row);
  return row;
}

/**
 * Close a running rollout. Only the first decision counts (the row must still be `running`);
 * returns false if another isolate or the cron job decided first.
 * promote: the canary becomes the active model (the stable one is remembered for rollback).
 * rolled_back / cancelled: the canary version is retired; the active model never changed.
 */
export async function closeRollout(d1: D1Database, id: string, status: 'promoted' | 'rolled_back' | 'cancelled', decision: Record<string, unknown>): Promise<boolean> {
  const d = db(d1);
  const closed = await d
    .update(modelRollouts)
    .set({ status, decidedAt: Date.now(), decision })
    .where(and(eq(modelRollouts.id, id), eq(modelRollouts.status, 'running')))
    .returning({ version: modelRollouts.version });
  const version = closed[0]?.version;
  if (!version) return false;
  if (status === 'promoted') await activateModel(d1, version);
  else await d.update(models).set({ status: 'retired' }).where(and(eq(models.version, version), ne(models.status, 'active')));
  return true;
}
