/**
 * One slot, served: context -> plan -> candidates -> rank -> rules -> record. The HTTP API
 * (JSON and HTML block) and the HTML proxy both fill slots through serveSlot.
 */
import { PartialCatalog } from '../catalog/serving';
import { displayFor, type Display } from '../render/locale';
import type { RecommendationResponse } from '../schemas/recommendations';
import { candidates } from './candidates';
import { loadContext, type ServeContext, type ServeDeps, type SlotRequest } from './context';
import { plan, type TemplateRef } from './plan';
import { rank } from './rank';
import { record } from './record';
import { respond } from './respond';
import { applySlotRules } from './rules';

import type { Ranked } from '../ranking/rules';

export type { ServeDeps, SlotRequest } from './context';
export type { TemplateRef } from './plan';

export interface ServedSlot {
  response: RecommendationResponse;
  /** The template to render the slot with (experiment variant, page, slot config or the default). */
  template: TemplateRef;
  /** Currency and locale of the rendered block (the slot config's, else the environment's). */
  display: Display;
  /** The shopper's features the answer was computed from (the console's preview shows them). */
  features: ServeContext['features'];
  /** The ranked items after the slot's rules (their rank features, model strategy), and the answering model's learned rank weights. */
  chosen: Ranked[];
  weights: Record<string, number> | null;
}

/** A catalog still loading (PartialCatalog) answers after at most this many passes. */
const MAX_PASSES = 3;

export async function serveSlot(req: SlotRequest, deps: ServeDeps): Promise<ServedSlot> {
  const { timing } = deps;
  const ctx = await loadContext(req, deps);
  const p = plan(ctx);
  for (let pass = 1; ; pass++) {
    const outcome = await timing.measure('candidates', candidates(ctx, p));
    const t0 = performance.now();
    const ranked = rank(outcome.answer.ranked);
    timing.add('rank', performance.now() - t0);
    const t1 = performance.now();
    const chosen = applySlotRules(ranked, ctx, p);
    timing.add('rules', performance.now() - t1);
    // A catalog still loading read only what earlier passes looked up: the items this pass
    // missed are read, and the pass runs again (worker/catalog/partial-view.ts).
    const partial = ctx.catalog instanceof PartialCatalog ? ctx.catalog : null;
    if (partial && !partial.complete && pass < MAX_PASSES) {
      await timing.measure('catalog-partial', partial.fill());
      continue;
    }
    const response = await respond(ctx, p, outcome, chosen);
    // A console preview is not a serve: no metrics, no experiment exposure.
    if (!deps.preview) record(ctx, p, outcome, ranked, response);
    partial?.answered();
    const weights = response.model_version && ctx.activeModel?.version === response.model_version ? ctx.activeModel.manifest.weights : null;
    return { response, template: p.template, display: displayFor(ctx.env, ctx.slot), features: ctx.features, chosen, weights };
  }
}
