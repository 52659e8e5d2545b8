/**
 * "What should this shopper see in this slot": session features + model scores +
 * merchandising rules, with the popularity list as the fallback that never fails.
 */
import { cachedDisplayFields, displayFields, getServingCatalog } from '../catalog/serving';
import type { ItemFacts, ServingCatalog } from '../catalog/types';
import { chooseTreatment, editorialRanking, loadExperimentContext, modelForVersion, recordTreatment, setVariantTemplate } from '../experiments/serve';
import { pseudonymize } from '../identity/pseudonym';
import { getCanary, getModel, type LoadedModel } from '../inference/model-store';
import { score } from '../inference/score';
import type { Timing } from '../lib/timing';
import { armFor } from '../ops/canary';
import { noteFault } from '../ops/faults';
import { log } from '../ops/log';
import { recordServe } from '../ops/metrics';
import type { RecommendationRequest, RecommendationResponse } from '../schemas/recommendations';
import { sessionStub } from '../session/client';
import { emptyFeatures, type SessionFeatures } from '../session/durable-object';
import { getSlotConfig } from '../slots/config';
import { attributeFilterKey, attributeMask, buildFilter, buildMask, hasAttributeFilters, itemColumns, maskFromBase, type ItemColumns } from './filters';
import { modelInputs } from './history';
import { popularRanking } from './popular';
import { namedItem, reasonFor, reasonText } from './reasons';
import { applyRules, type Ranked } from './rules';

export interface RecommendDeps {
  env: Env;
  waitUntil?: (p: Promise<unknown>) => void;
  timing: Timing;
  /** The session id was minted by this very request (worker/identity/shopper.ts): it has no state yet. */
  newSession?: boolean;
  /** The shopper as the identity module verified them (null: anonymous). */
  shopper: { userId: string | null };
}

interface Aligned {
  /** the catalog version the masks were built for */
  version: string;
  /** model index -> catalog item */
  items: (ItemFacts | undefined)[];
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

function alignedItems(model: LoadedModel, catalog: ServingCatalog): Aligned {
  const hit = aligned.get(model);
  if (hit?.version === catalog.version) return hit;
  const items = model.manifest.items.map((id) => catalog.facts(id));
  const a: Aligned = {
    version: catalog.version,
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

const num = (v: string | undefined, d: number) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : d);

const DEFAULT_SESSION_BUDGET_MS = 150;

/** The session's features, or null (an unknown shopper) when its object fails or misses its time budget. */
async function sessionFeatures(env: Env, sessionKey: string | null, userKey: string | null, newSession: boolean): Promise<SessionFeatures | null> {
  if (!sessionKey) return null;
  // A session minted by this request has nothing stored yet; without a user (whose profile the
  // object would load) asking its object would only create it.
  if (newSession && !userKey) return emptyFeatures();
  const budget = num(env.SESSION_BUDGET_MS, DEFAULT_SESSION_BUDGET_MS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`session object did not answer within ${budget} ms`)), budget)));
    return await Promise.race([sessionStub(env, sessionKey).features(userKey), late]);
  } catch (e) {
    // A failing or slow session object degrades to "unknown shopper", never to an error.
    log('warn', 'session_features_failed', { error: (e as Error).message });
    noteFault('session_object', (e as Error).message);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export async function recommend(req: RecommendationRequest, { env, waitUntil, timing, shopper, newSession = false }: RecommendDeps): Promise<RecommendationResponse> {
  // The caller resolved the shopper (identity module): a verified id, or none. The request's
  // own user_id / user_token are claims, never read here.
  const userId = shopper.userId;
  const [sessionKey, userKey] = await Promise.all([
    req.session_id ? pseudonymize(env, 's', req.session_id) : null,
    userId ? pseudonymize(env, 'u', userId) : null,
  ]);
  const [catalog, activeLoaded, features, slot, expCtx] = await Promise.all([
    timing.measure('catalog', getServingCatalog(env, waitUntil)),
    timing.measure(
      'model',
      // MODEL_DISABLED=1: serve the popularity fallback as if no model were active.
      String(env.MODEL_DISABLED) === '1' ? Promise.resolve(undefined) : getModel(env, num(env.MODEL_TTL_MS, 10_000), waitUntil).catch(() => undefined),
    ),
    timing.measure('session', sessionFeatures(env, sessionKey, userKey, newSession)),
    getSlotConfig(env.DB, req.slot, waitUntil),
    timing.measure('experiment', loadExperimentContext(env, waitUntil)),
  ]);

  const lookup = (id: string) => catalog.facts(id);
  // Experiments (worker/experiments/): holdout, A/B variant or bandit arm, and what it changes.
  const unitKey = userKey ?? sessionKey;
  const treatment = chooseTreatment(env, expCtx, { slot: req.slot, unitKey, device: req.device, hour: req.hour ?? new Date().getUTCHours(), features, lookup }, waitUntil);
  const spec = treatment.spec;
  const k = spec?.k ?? req.k;
  const rules = spec?.diversity ? { ...slot.rules, max_per_category: spec.diversity } : slot.rules;
  const useModel = !spec || spec.strategy === 'model' || spec.strategy === 'model_version';
  const model = !useModel ? undefined : spec?.strategy === 'model_version' ? ((await modelForVersion(env, spec.model_version!)) ?? activeLoaded) : activeLoaded;
  const excluded = new Set<string>(req.exclude ?? []);
  if (!req.include_purchased) for (const id of features?.purchased ?? []) excluded.add(id);
  for (const id of features?.cart ?? []) excluded.add(id);
  if (req.item_id) excluded.add(req.item_id);
  const filter = buildFilter(req, excluded);

  // Extra candidates so that bury / caps / pins still leave k items.
  const want = Math.min(k * 3 + k + rulesSize(rules), 500);
  let ranked: Ranked[] | null = null;
  let usedModel: LoadedModel | undefined;
  // Canary rollout (worker/ops/canary.ts): a sticky share of shoppers is scored by the canary
  // model; if it cannot load or fails, the stable model answers and the canary is charged an error.
  const rollout = model && model === activeLoaded ? getCanary() : undefined;
  const arm = rollout ? armFor(rollout.rolloutId, sessionKey ?? userKey, rollout.share) : null;
  let modelFailed = false;
  for (const m of arm === 'canary' ? [rollout!.model, model] : [model]) {
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
  const fallback = ranked === null && useModel;
  if (ranked === null) {
    const oneCategory = req.category?.length === 1 ? req.category[0] : undefined;
    ranked =
      spec?.strategy === 'editorial'
        ? editorialRanking(spec.items ?? [], lookup, filter)
        : popularRanking(catalog, filter, spec?.strategy === 'control' ? null : features, want, oneCategory);
  }

  const t1 = performance.now();
  const chosen = applyRules(ranked, rules, k, lookup, filter);
  const contextItem = req.item_id ? lookup(req.item_id) : undefined;
  const reasons = chosen.map((r) => reasonFor(r.item, { pinned: r.pinned, contextItem, features, lookup }));
  timing.add('rank', performance.now() - t1);
  // Titles and links for the items shown and the items their reasons name: one lookup.
  const wanted = [...chosen.map((r) => r.item.id), ...reasons.flatMap((r) => namedItem(r) ?? [])];
  const shown = await timing.measure(
    'display',
    displayFields(env, wanted).catch((e: Error) => {
      // D1 failing: a warm isolate still answers with the items whose fields it has cached.
      const cached = cachedDisplayFields(env, wanted);
      if (!chosen.some((r) => cached.has(r.item.id))) throw e;
      log('warn', 'display_fields_failed', { error: e.message, cached: cached.size, wanted: wanted.length });
      return cached;
    }),
  );
  // An item removed since the catalog was read has no display fields: it is not shown.
  const final = chosen.flatMap((r, i) => (shown.has(r.item.id) ? [{ ...r, reason: reasonText(reasons[i]!, (id) => shown.get(id)?.title) }] : []));
  const out: RecommendationResponse = {
    recommendation_id: crypto.randomUUID(),
    slot: req.slot,
    model_version: usedModel?.version ?? null,
    strategy: usedModel ? 'model' : spec?.strategy === 'editorial' || spec?.strategy === 'control' ? spec.strategy : 'popular',
    fallback,
    experiment: treatment.experiment,
    variant: treatment.variant,
    segments: treatment.segments,
    ...(spec?.payload ? { variant_payload: spec.payload } : {}),
    items: final.map((r, i) => ({
      item_id: r.item.id,
      rank: i + 1,
      score: Math.round(r.score * 1e6) / 1e6,
      reason: r.reason,
      title: shown.get(r.item.id)!.title,
      category: r.item.category,
      brand: r.item.brand,
      price: r.item.price,
      image_url: shown.get(r.item.id)!.imageUrl,
      url: shown.get(r.item.id)!.url,
      in_stock: r.item.inStock,
      ...(r.pinned ? { pinned: true } : {}),
    })),
  };
  recordServe(env, {
    slot: req.slot,
    model: out.model_version,
    arm,
    rollout: rollout?.rolloutId ?? null,
    variant: typeof treatment.variant === 'string' ? treatment.variant : null,
    fallback,
    error: modelFailed,
    topScore: usedModel && ranked.length ? ranked[0]!.score : null,
    categories: countBy(out.items.map((i) => i.category ?? '(none)')),
  });
  recordTreatment(env, treatment, out.recommendation_id, req.slot, unitKey, waitUntil);
  setVariantTemplate(out, spec?.template);
  return out;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

function rulesSize(r: { pin: unknown[]; bury: unknown[] }): number {
  return r.pin.length + (r.bury.length ? 20 : 0);
}
