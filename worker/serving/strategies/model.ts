/**
 * The active model (or, for a sticky share of shoppers during a canary rollout, the canary
 * model) scores the whole catalog through ONNX. A canary that cannot load or fails is charged an
 * error and the stable model answers. The scoring code is the one recommend() had, moved as is.
 */
import type { CatalogItem, CatalogSnapshot } from '../../catalog/snapshot';
import type { LoadedModel } from '../../inference/model-store';
import { score } from '../../inference/score';
import { noteFault } from '../../ops/faults';
import { log } from '../../ops/log';
import { attributeFilterKey, attributeMask, buildMask, hasAttributeFilters, itemColumns, maskFromBase, type ItemColumns } from '../../ranking/filters';
import { modelInputs } from '../../ranking/history';
import type { Ranked } from '../../ranking/rules';
import type { RecommendationRequest } from '../../schemas/recommendations';
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

interface Aligned {
  catalog: CatalogSnapshot;
  /** model index -> catalog item */
  items: (CatalogItem | undefined)[];
  /** 1 where the item is in the catalog and in stock / merely in the catalog */
  inStock: Float32Array;
  present: Float32Array;
  /** built on the first attribute-filtered request */
  columns?: ItemColumns;
  /** attribute-filtered base masks by filter (and stock) key: pages repeat the same few filters */
  filtered: Map<string, Float32Array>;
}

const MAX_FILTERED_MASKS = 32;

/** Rebuilt only when the model or the catalog changes. */
const aligned = new WeakMap<LoadedModel, Aligned>();

function alignedItems(model: LoadedModel, catalog: CatalogSnapshot): Aligned {
  const hit = aligned.get(model);
  if (hit?.catalog === catalog) return hit;
  const items = model.manifest.items.map((id) => catalog.byId.get(id));
  const a: Aligned = {
    catalog,
    items,
    inStock: buildMask(items, (it) => it.inStock),
    present: buildMask(items, () => true),
    filtered: new Map(),
  };
  aligned.set(model, a);
  return a;
}

/** The request's base mask before exclusions: present / in stock, narrowed by its attribute filters (cached). */
function baseMask(a: Aligned, req: RecommendationRequest): Float32Array {
  const base = req.in_stock ? a.inStock : a.present;
  if (!hasAttributeFilters(req)) return base;
  const key = `${req.in_stock ? 1 : 0}${attributeFilterKey(req)}`;
  let mask = a.filtered.get(key);
  if (!mask) {
    mask = attributeMask(base, (a.columns ??= itemColumns(a.items)), req);
    if (a.filtered.size >= MAX_FILTERED_MASKS) a.filtered.delete(a.filtered.keys().next().value!);
    a.filtered.set(key, mask);
  }
  return mask;
}

/**
 * The first of `models` that scores the request answers. A missing canary model or a failing
 * one is charged (`degraded`); when none answers after a failure, this throws so that the chain
 * counts an error; when there simply is no model, it cannot answer (null).
 */
export async function scoreWithFirst(ctx: ServeContext, plan: Plan, models: (LoadedModel | undefined)[], arm: 'canary' | 'stable' | null): Promise<Candidates | null> {
  const { req, catalog, features, excluded, timing } = ctx;
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
      const t0 = performance.now();
      const a = alignedItems(m, catalog);
      const items = a.items;
      const mask = maskFromBase(baseMask(a, req), excluded, m.itemIndex);
      const hour = req.hour ?? new Date().getUTCHours();
      const inputs = modelInputs(m, features, req.item_id, hour, req.device);
      timing.add('features', performance.now() - t0);
      const scored = await timing.measure('inference', score(m, inputs, mask, want));
      ranked = scored.flatMap((s) => (items[s.index] ? [{ item: items[s.index]!, score: s.score }] : []));
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
