/**
 * A model version pinned by an experiment variant, loaded once per isolate next to the active
 * one. When the version cannot be loaded the chain goes on to the active model.
 */
import { eq } from 'drizzle-orm';
import { db } from '../../db/client';
import { models } from '../../db/schema';
import { loadModel, type LoadedModel } from '../../inference/model-store';
import { log } from '../../ops/log';
import { scoreWithFirst } from './model';
import type { Strategy } from './types';

export const modelVersion: Strategy = {
  name: 'model_version',
  reportAs: 'model',
  fallbackTo: 'model',
  async candidates(ctx, plan) {
    const version = plan.variant?.model_version;
    const pinned = version ? await modelForVersion(ctx.env, version) : undefined;
    return pinned ? scoreWithFirst(ctx, plan, [pinned], null) : null;
  },
};

const versions = new Map<string, Promise<LoadedModel | undefined>>();

export function modelForVersion(env: Env, version: string): Promise<LoadedModel | undefined> {
  let p = versions.get(version);
  if (!p) {
    p = (async () => {
      const row = await db(env.DB).select().from(models).where(eq(models.version, version)).get();
      return row ? loadModel(env.MODELS, row) : undefined;
    })().catch((e: Error) => {
      log('error', 'variant_model_failed', { version, error: e.message });
      setTimeout(() => versions.delete(version), 60_000);
      return undefined;
    });
    versions.set(version, p);
    if (versions.size > 4) versions.delete(versions.keys().next().value!);
  }
  return p;
}
