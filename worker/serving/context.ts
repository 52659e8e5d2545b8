/**
 * Stage 1, context: everything a slot's answer depends on, read once per request and in
 * parallel: the shopper's pseudonymous keys, session features, catalog, active model, slot
 * config (and the page's named template) and the running experiments.
 */
import { PartialCatalog, servingCatalogNow } from '../catalog/serving';
import type { ItemFacts, ServingCatalog } from '../catalog/types';
import { loadExperimentContext, type ExperimentContext } from '../experiments/serve';
import { pseudonymize } from '../identity/pseudonym';
import { getModel, type LoadedModel } from '../inference/model-store';
import type { Timing } from '../lib/timing';
import { numberVar } from '../lib/vars';
import { buildFilter, type CandidateFilter } from '../ranking/filters';
import type { RecommendationRequest } from '../schemas/recommendations';
import type { SessionFeatures } from '../session/durable-object';
import { getSlotConfig, type SlotConfig } from '../slots/config';
import { sessionFeatures } from './session-features';

/**
 * What the caller asks for instead of the slot's planned strategy: its own candidates ranked
 * (POST /v1/rerank), the neighbours of `item_id` (GET /v1/items/{item_id}/similar) or the
 * trending list (GET /v1/trending). Experiments do not change what is asked.
 */
export type Ask = { strategy: 'rerank'; items: string[] } | { strategy: 'similar' } | { strategy: 'trending' };

/** A slot to fill: the recommendation request, plus the slot whose template the page asked for (HTML proxy). */
export type SlotRequest = RecommendationRequest & { template_slot?: string; ask?: Ask };

export interface ServeDeps {
  env: Env;
  waitUntil?: (p: Promise<unknown>) => void;
  timing: Timing;
  /** The session id was minted by this very request (worker/identity/shopper.ts): it has no state yet. */
  newSession?: boolean;
  /** The shopper as the identity module verified them (null: anonymous). */
  shopper: { userId: string | null };
  /** When the session last had events accepted, if the request says (worker/session/stamp.ts). */
  sessionStamp?: number;
  /** Reads shared by the slots of one page (one request): the same session is read once. */
  pageReads?: Map<string, Promise<unknown>>;
  /** The console's preview: this slot config instead of the stored one (an unsaved edit), and nothing recorded. */
  preview?: { draft?: SlotConfig; segment?: string };
}

export interface ServeContext {
  req: RecommendationRequest;
  /** null: the slot's own strategy answers (experiments may choose it). */
  ask: Ask | null;
  env: Env;
  waitUntil?: (p: Promise<unknown>) => void;
  timing: Timing;
  sessionKey: string | null;
  userKey: string | null;
  /** Experiments assign by user when known, else by session. */
  unitKey: string | null;
  hour: number;
  features: SessionFeatures | null;
  catalog: ServingCatalog;
  lookup: (id: string) => ItemFacts | undefined;
  activeModel: LoadedModel | undefined;
  slot: SlotConfig;
  /** The template of the slot config the page named (data-p13n-template), if any. */
  pageTemplate: string | null;
  experiments: ExperimentContext;
  /** Items never to show: the request's exclusions, the cart, purchases, the product in view. */
  excluded: Set<string>;
  filter: CandidateFilter;
  /** The console's preview as a segment (ServeDeps.preview). */
  previewSegment?: string;
}

export async function loadContext(slotReq: SlotRequest, { env, waitUntil, timing, shopper, newSession = false, sessionStamp = 0, pageReads, preview }: ServeDeps): Promise<ServeContext> {
  const { template_slot: templateSlot, ask, ...req } = slotReq;
  // The caller resolved the shopper (identity module): a verified id, or none. The request's
  // own user_id / user_token are claims, never read here.
  const userId = shopper.userId;
  const [sessionKey, userKey] = await Promise.all([
    req.session_id ? pseudonymize(env, 's', req.session_id) : null,
    userId ? pseudonymize(env, 'u', userId) : null,
  ]);
  const named = templateSlot && templateSlot !== req.slot ? templateSlot : null;
  const [catalog, activeModel, features, slot, pageConfig, experiments] = await Promise.all([
    timing.measure('catalog', servingCatalogNow(env, waitUntil)),
    timing.measure(
      'model',
      // MODEL_DISABLED=1: serve the popularity fallback as if no model were active.
      String(env.MODEL_DISABLED) === '1' ? Promise.resolve(undefined) : getModel(env, numberVar(env.MODEL_TTL_MS, 10_000), waitUntil).catch(() => undefined),
    ),
    sessionFeatures(env, sessionKey, userKey, { newSession, notBefore: sessionStamp, timing, pageReads }),
    timing.measure('slot', preview?.draft ? Promise.resolve(preview.draft) : getSlotConfig(env.DB, req.slot, waitUntil)),
    named ? getSlotConfig(env.DB, named, waitUntil) : null,
    timing.measure('experiment', loadExperimentContext(env, waitUntil)),
  ]);

  // A catalog still loading knows only what it read: the items the plan and the reasons look up
  // (the shopper's history, the product in view) are read before planning; candidates come later.
  if (catalog instanceof PartialCatalog) {
    catalog.want([...(features?.recent.map((r) => r.itemId) ?? []), ...(features?.cart ?? []), ...(features?.purchased ?? []), ...(features?.profile?.recentItems ?? []), ...(req.item_id ? [req.item_id] : [])]);
    await timing.measure('catalog-partial', catalog.fill());
  }

  const excluded = new Set<string>(req.exclude ?? []);
  if (!req.include_purchased) for (const id of features?.purchased ?? []) excluded.add(id);
  for (const id of features?.cart ?? []) excluded.add(id);
  if (req.item_id) excluded.add(req.item_id);

  return {
    req,
    ask: ask ?? null,
    env,
    waitUntil,
    timing,
    sessionKey,
    userKey,
    unitKey: userKey ?? sessionKey,
    hour: req.hour ?? new Date().getUTCHours(),
    features,
    catalog,
    lookup: (id) => catalog.facts(id),
    activeModel,
    slot,
    pageTemplate: pageConfig?.template ?? null,
    experiments,
    excluded,
    filter: buildFilter(req, excluded),
    previewSegment: preview?.segment,
  };
}
