/** Requests of the other ways to ask (rerank, similar items, trending, a page's slots in one call), built from the recommendation request's fields. */
import { z } from '@hono/zod-openapi';
import { Id } from './common';
import { RecommendationRequestSchema, RecommendationResponseSchema } from './recommendations';

const R = RecommendationRequestSchema.shape;
const identity = { session_id: R.session_id, user_id: R.user_id, user_token: R.user_token, device: R.device, hour: R.hour };
const filters = { category: R.category, brand: R.brand, price_min: R.price_min, price_max: R.price_max, in_stock: R.in_stock, exclude: R.exclude };
const priceOrder = <T extends { price_min?: number; price_max?: number }>(r: T) => r.price_min === undefined || r.price_max === undefined || r.price_min <= r.price_max;
const priceIssue = { path: ['price_max'], message: 'must be >= price_min' };

export const MAX_RERANK = 500;
export const MAX_BATCH = 10;

export const RerankRequestSchema = z
  .object({
    items: z.array(Id).min(1).max(MAX_RERANK).openapi({ description: `The candidates to rank (search results, a category page), at most ${MAX_RERANK}; duplicates count once`, example: ['sku-1', 'sku-2', 'sku-3'] }),
    slot: Id.default('rerank').openapi({ description: 'Slot name for metrics and reporting (default "rerank")', example: 'search-results' }),
    item_id: R.item_id.openapi({ description: 'Product-page context: rank as "seen with this item"' }),
    ...identity,
  })
  .openapi('RerankRequest');

export const RerankResponseSchema = RecommendationResponseSchema.extend({
  unknown: z.array(z.string()).openapi({ description: 'Submitted ids the catalog does not know (or no longer shows): not ranked, listed here instead' }),
}).openapi('RerankResult');

export const SimilarQuerySchema = z
  .object({ k: R.k, slot: Id.default('similar').openapi({ description: 'Slot name for rules, metrics and reporting (default "similar")' }), ...filters })
  .refine(priceOrder, priceIssue);

export const TrendingQuerySchema = z
  .object({
    k: R.k,
    category: Id.optional().openapi({ description: 'Only this category', example: 'skincare' }),
    slot: Id.default('trending').openapi({ description: 'Slot name for rules, metrics and reporting (default "trending")' }),
    brand: R.brand,
    price_min: R.price_min,
    price_max: R.price_max,
    in_stock: R.in_stock,
    exclude: R.exclude,
  })
  .refine(priceOrder, priceIssue);

const { session_id: _s, user_id: _u, user_token: _t, device: _d, hour: _h, ...slotFields } = R;
export const BatchSlotSchema = z.object(slotFields).refine(priceOrder, priceIssue).openapi('BatchSlot');

export const BatchRequestSchema = z
  .object({
    ...identity,
    requests: z
      .array(BatchSlotSchema)
      .min(1)
      .max(MAX_BATCH)
      .openapi({ description: `The page's slots, at most ${MAX_BATCH}; the shopper fields above apply to all`, example: [{ slot: 'home-hero', k: 4 }, { slot: 'home-recs', k: 10, category: ['skincare'] }] }),
  })
  .openapi('RecommendationBatch');

export const BatchResponseSchema = z.object({ results: z.array(RecommendationResponseSchema).openapi({ description: 'One answer per request, in order' }) }).openapi('RecommendationBatchResult');

export type RerankRequest = z.output<typeof RerankRequestSchema>;
export type BatchRequest = z.output<typeof BatchRequestSchema>;
