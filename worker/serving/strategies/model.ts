/**
 * The active model (or, for a sticky share of shoppers during a canary rollout, the canary
 * model) retrieves candidates from the shopper's history and lists, and ranks them with its
 * rank graph (worker/ranking/two-stage/). A canary that cannot load or fails is charged an
 * error and the stable model answers.
 */
import type { LoadedModel } from '../../inference/model-store';
import { noteFault } from '../../ops/faults';
import { log } from '../../ops/log';
import type { Ranked } from '../../ranking/rules';
import { modelRanking } from '../../ranking/two-stage/serve';
import { onlyCategory, popularRanking } from '../../ranking/popular';
import type { ServeContext } from '../context';
import type { Plan } from '../plan';
import type { Candidates, Strategy } from './types';

export const model: Strategy = {
  name: 'model',
  reportAs: 'model',
  fallbackTo: 'popular',
  servesCanary: true,
  async candidates(ctx, plan) {
    const canary = plan.canary;
    return scoreWithFirst(ctx, plan, canary?.arm === 'canary' ? [canary.rollout.model, ctx.activeModel] : [ctx.activeModel], canary?.arm ?? null);
  },
};

/**
 * The first of `models` that scores the request answers. A missing canary model or a failing
 * one is charged (`degraded`); when none answers after a failure, this throws so that the chain
 * counts an error; when there simply is no model, it cannot answer (null).
 */
export async function scoreWithFirst(ctx: ServeContext, plan: Plan, models: (LoadedModel | undefined)[], arm: 'canary' | 'stable' | null): Promise<Candidates | null> {
  const { req, features, lookup, filter, timing } = ctx;
  const want = plan.want;
  let ranked: Ranked[] | null = null;
  let usedModel: LoadedModel | undefined;
  let modelFailed = false;
  for (const m of models) {
    if (ranked) break;
    if (!m) {
      if (arm === 'canary') modelFailed = true;
      continue;
    }
    try {
      const retrieved = await modelRanking({ model: m, features, contextItemId: req.item_id, hour: ctx.hour, device: req.device, lookup, allow: filter, want, timing });
      // Nothing the model knows passes the request's filters: it cannot answer, the chain goes on.
      if (!retrieved.length) continue;
      ranked = topUp(retrieved, ctx, want);
      usedModel = m;
    } catch (e) {
      log('error', 'inference_failed', { version: m.version, error: (e as Error).message });
      noteFault('inference', `model ${m.version}: ${(e as Error).message}`);
      modelFailed = true;
      ranked = null;
    }
  }
  if (ranked && usedModel) return { ranked, modelVersion: usedModel.version, degraded: modelFailed };
  if (modelFailed) throw new Error('no model could score the request');
  return null;
}

/**
 * A narrow filter (a small category, a price window) can leave retrieval with fewer items than
 * asked for: the most popular items that pass it fill the rest, below every retrieved one.
 */
function topUp(ranked: Ranked[], ctx: ServeContext, want: number): Ranked[] {
  if (ranked.length >= want) return ranked;
  const have = new Set(ranked.map((r) => r.item.id));
  let floor = ranked.length ? ranked[ranked.length - 1]!.score : 0;
  const out = ranked.slice();
  for (const p of popularRanking(ctx.catalog, ctx.filter, ctx.features, want, onlyCategory(ctx.req))) {
    if (out.length >= want) break;
    if (have.has(p.item.id)) continue;
    floor -= 1e-3;
    out.push({ item: p.item, score: floor, why: { kind: 'popular', category: p.item.category } });
  }
  return out;
}
