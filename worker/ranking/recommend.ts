/**
 * "What should this shopper see in this slot": session features + model scores +
 * merchandising rules, with the popularity list as the fallback that never fails.
 */
import { getCatalog, type CatalogItem, type CatalogSnapshot } from '../catalog/snapshot';
import { pseudonymize } from '../identity/pseudonym';
import { getModel, type LoadedModel } from '../inference/model-store';
import { score } from '../inference/score';
import type { Timing } from '../lib/timing';
import type { RecommendationRequest, RecommendationResponse } from '../schemas/recommendations';
import { sessionStub } from '../session/client';
import type { SessionFeatures } from '../session/durable-object';
import { getSlotConfig } from '../slots/config';
import { buildFilter, buildMask, hasAttributeFilters, maskFromBase } from './filters';
import { modelInputs } from './history';
import { popularRanking } from './popular';
import { reasonFor } from './reasons';
import { applyRules, type Ranked } from './rules';

export interface RecommendDeps {
  env: Env;
  waitUntil?: (p: Promise<unknown>) => void;
  timing: Timing;
}

interface Aligned {
  catalog: CatalogSnapshot;
  /** model index -> catalog item */
  items: (CatalogItem | undefined)[];
  /** 1 where the item is in the catalog and in stock / merely in the catalog */
  inStock: Float32Array;
  present: Float32Array;
}

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
  };
  aligned.set(model, a);
  return a;
}

const num = (v: string | undefined, d: number) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : d);

async function sessionFeatures(env: Env, sessionKey: string | null, userKey: string | null): Promise<SessionFeatures | null> {
  if (!sessionKey) return null;
  try {
    return await sessionStub(env, sessionKey).features(userKey);
  } catch (e) {
    // A failing session object degrades to "unknown shopper", never to an error.
    console.error(JSON.stringify({ level: 'warn', msg: 'session_features_failed', error: (e as Error).message }));
    return null;
  }
}

export async function recommend(req: RecommendationRequest, { env, waitUntil, timing }: RecommendDeps): Promise<RecommendationResponse> {
  const [sessionKey, userKey] = await Promise.all([
    req.session_id ? pseudonymize(env, 's', req.session_id) : null,
    req.user_id ? pseudonymize(env, 'u', req.user_id) : null,
  ]);
  const [catalog, model, features, slot] = await Promise.all([
    timing.measure('catalog', getCatalog(env.DB, num(env.CATALOG_TTL_MS, 5000), waitUntil)),
    timing.measure(
      'model',
      getModel(env, num(env.MODEL_TTL_MS, 10_000), waitUntil).catch(() => undefined),
    ),
    timing.measure('session', sessionFeatures(env, sessionKey, userKey)),
    getSlotConfig(env.DB, req.slot, waitUntil),
  ]);

  const lookup = (id: string) => catalog.byId.get(id);
  const excluded = new Set<string>(req.exclude ?? []);
  if (!req.include_purchased) for (const id of features?.purchased ?? []) excluded.add(id);
  for (const id of features?.cart ?? []) excluded.add(id);
  if (req.item_id) excluded.add(req.item_id);
  const filter = buildFilter(req, excluded);

  // Extra candidates so that bury / caps / pins still leave k items.
  const want = Math.min(req.k * 3 + req.k + rulesSize(slot.rules), 500);
  let ranked: Ranked[] | null = null;
  let usedModel: LoadedModel | undefined;
  if (model) {
    try {
      const t0 = performance.now();
      const { items, inStock, present } = alignedItems(model, catalog);
      const mask = hasAttributeFilters(req) ? buildMask(items, filter) : maskFromBase(req.in_stock ? inStock : present, excluded, model.itemIndex);
      const hour = req.hour ?? new Date().getUTCHours();
      const inputs = modelInputs(model, features, req.item_id, hour, req.device);
      timing.add('features', performance.now() - t0);
      const scored = await timing.measure('inference', score(model, inputs, mask, want));
      ranked = scored.flatMap((s) => (items[s.index] ? [{ item: items[s.index]!, score: s.score }] : []));
      usedModel = model;
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', msg: 'inference_failed', version: model.version, error: (e as Error).message }));
      ranked = null;
    }
  }
  const fallback = ranked === null;
  if (ranked === null) ranked = popularRanking(catalog, filter, features, want);

  const t1 = performance.now();
  const final = applyRules(ranked, slot.rules, req.k, lookup, filter);
  const contextItem = req.item_id ? lookup(req.item_id) : undefined;
  const out: RecommendationResponse = {
    recommendation_id: crypto.randomUUID(),
    slot: req.slot,
    model_version: usedModel?.version ?? null,
    strategy: fallback ? 'popular' : 'model',
    fallback,
    items: final.map((r, i) => ({
      item_id: r.item.id,
      rank: i + 1,
      score: Math.round(r.score * 1e6) / 1e6,
      reason: reasonFor(r.item, { pinned: r.pinned, contextItem, features, lookup }),
      title: r.item.title,
      category: r.item.category,
      brand: r.item.brand,
      price: r.item.price,
      image_url: r.item.imageUrl,
      url: r.item.url,
      in_stock: r.item.inStock,
      ...(r.pinned ? { pinned: true } : {}),
    })),
  };
  timing.add('rank', performance.now() - t1);
  return out;
}

function rulesSize(r: { pin: unknown[]; bury: unknown[] }): number {
  return r.pin.length + (r.bury.length ? 20 : 0);
}
