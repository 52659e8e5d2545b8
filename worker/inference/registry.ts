/** The model registry in D1: which versions exist and which one is active. */
import { desc, eq } from 'drizzle-orm';
import { db } from '../db/client';
import { models, type ModelRow } from '../db/schema';
import { ApiError } from '../lib/errors';

export async function activeModel(d1: D1Database): Promise<ModelRow | undefined> {
  return db(d1).select().from(models).where(eq(models.status, 'active')).get();
}

export async function listModels(d1: D1Database): Promise<ModelRow[]> {
  return db(d1).select().from(models).orderBy(desc(models.createdAt)).all();
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
