/** The answer as the API and the HTML block see it: what was served, by what, in which experiment, and why each item. */
import { reasonFor, retrievalReason } from '../ranking/reasons';
import type { Ranked } from '../ranking/rules';
import type { RecommendationResponse } from '../schemas/recommendations';
import type { ChainOutcome } from './candidates';
import type { ServeContext } from './context';
import type { Plan } from './plan';

export function respond(ctx: ServeContext, plan: Plan, outcome: ChainOutcome, final: Ranked[]): RecommendationResponse {
  const { req, features, lookup } = ctx;
  const { treatment, variant } = plan;
  const contextItem = req.item_id ? lookup(req.item_id) : undefined;
  return {
    recommendation_id: crypto.randomUUID(),
    slot: req.slot,
    model_version: outcome.answer.modelVersion,
    strategy: outcome.by.reportAs,
    fallback: outcome.fallback,
    experiment: treatment.experiment,
    variant: treatment.variant,
    segments: treatment.segments,
    ...(variant?.payload ? { variant_payload: variant.payload } : {}),
    items: final.map((r, i) => ({
      item_id: r.item.id,
      rank: i + 1,
      score: Math.round(r.score * 1e6) / 1e6,
      reason: r.why && !r.pinned ? retrievalReason(r.why, lookup) : reasonFor(r.item, { pinned: r.pinned, contextItem, features, lookup }),
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
}
