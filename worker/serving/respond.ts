/**
 * The answer as the API and the HTML block see it: what was served, by what, in which
 * experiment, and why each item. Reasons are chosen from facts; titles and links for the items
 * shown and the items their reasons name come from one display-fields read.
 */
import { cachedDisplayFields, displayFields } from '../catalog/serving';
import { log } from '../ops/log';
import { namedItem, reasonFor, resolveReason, retrievalReason } from '../ranking/reasons';
import { reasonMessage } from '../render/messages';
import type { Ranked } from '../ranking/rules';
import type { RecommendationResponse } from '../schemas/recommendations';
import type { ChainOutcome } from './candidates';
import type { ServeContext } from './context';
import type { Plan } from './plan';

export async function respond(ctx: ServeContext, plan: Plan, outcome: ChainOutcome, chosen: Ranked[]): Promise<RecommendationResponse> {
  const { req, features, lookup, env, timing } = ctx;
  const { treatment, variant } = plan;
  const contextItem = req.item_id ? lookup(req.item_id) : undefined;
  const reasons = chosen.map((r) => (r.why && !r.pinned ? retrievalReason(r.why) : reasonFor(r.item, { pinned: r.pinned, contextItem, features, lookup })));
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
  const final = chosen.flatMap((r, i) => {
    const d = shown.get(r.item.id);
    return d ? [{ r, d, reason: resolveReason(reasons[i]!, (id) => shown.get(id)?.title) }] : [];
  });
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
    items: final.map(({ r, d, reason }, i) => ({
      item_id: r.item.id,
      rank: i + 1,
      score: Math.round(r.score * 1e6) / 1e6,
      // English, as before codes existed; reason_code + reason_params say it in any language.
      reason: reasonMessage(reason.code, reason.params),
      reason_code: reason.code,
      reason_params: reason.params,
      title: d.title,
      category: r.item.category,
      brand: r.item.brand,
      price: r.item.price,
      image_url: d.imageUrl,
      url: d.url,
      in_stock: r.item.inStock,
      ...(r.pinned ? { pinned: true } : {}),
    })),
  };
}
