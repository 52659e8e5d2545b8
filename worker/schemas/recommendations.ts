import { z } from '@hono/zod-openapi';
import { Id, IdList } from './common';

const Bool = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());
const Num = z.coerce.number().finite();

export const MAX_K = 100;

/** Shared by GET (query string) and POST (JSON body). */
export const RecommendationRequestSchema = z
  .object({
    slot: Id.openapi({ example: 'home-recs' }),
    session_id: Id.optional().openapi({
      description: 'Without X-P13n-Server-Key: only a session the worker issued to this caller (403 otherwise); defaults to the p13n_sid cookie',
    }),
    user_id: Id.optional().openapi({ description: 'Honoured only when it is a signed shopper token in a POST body (see user_token); a bare id is ignored (X-P13n-Identity: unverified)' }),
    user_token: z
      .string()
      .trim()
      .min(1)
      .max(4096)
      .optional()
      .openapi({
        description:
          "Signed shopper token (a JWT or the compact format, docs/security.md), POST body only: a GET with it in the query string is refused (400 invalid_request). Otherwise read from Authorization: Bearer, the X-P13n-User-Token header or the p13n_uid cookie. Invalid or expired: anonymous",
      }),
    k: z.coerce.number().int().min(1).max(MAX_K).default(10),
    /** Product-page context: "similar to / bought with this item". */
    item_id: Id.optional(),
    category: IdList.optional(),
    brand: IdList.optional(),
    price_min: Num.nonnegative().optional(),
    price_max: Num.nonnegative().optional(),
    in_stock: Bool.default(true).openapi({ description: 'Only in-stock items (default true)' }),
    exclude: IdList.optional().openapi({ description: 'Item ids never to return' }),
    include_purchased: Bool.default(false).openapi({ description: 'Allow items the shopper already bought' }),
    device: z.enum(['mobile', 'desktop', 'other']).optional(),
    hour: z.coerce.number().int().min(0).max(23).optional().openapi({ description: "Shopper's local hour; defaults to UTC now" }),
  })
  .refine((r) => r.price_min === undefined || r.price_max === undefined || r.price_min <= r.price_max, {
    path: ['price_max'],
    message: 'must be >= price_min',
  });

export type RecommendationRequest = z.output<typeof RecommendationRequestSchema>;

/** Why an item was recommended, as a code the storefront can translate (worker/render/messages.ts). */
export const ReasonCodeSchema = z
  .enum([
    'featured',
    'similar_to',
    'often_viewed_with',
    'because_you_viewed',
    'because_you_added',
    'because_you_bought',
    'brand_interest',
    'more_in_category',
    'popular_in_category',
    'popular_now',
    'trending_in_category',
    'trending_now',
    'picked_for_you',
  ])
  .openapi('ReasonCode');

export type ReasonCode = z.output<typeof ReasonCodeSchema>;

export const RecommendedItemSchema = z
  .object({
    item_id: z.string(),
    rank: z.number().int(),
    score: z.number(),
    reason: z.string().openapi({ description: 'The reason in English (reason_code and reason_params say it in any language)' }),
    reason_code: ReasonCodeSchema,
    reason_params: z
      .record(z.string(), z.string())
      .openapi({ description: 'Values of the reason\'s placeholders: item (title) and item_id of a named item, category, brand', example: { item: 'Rose lip balm', item_id: 'sku-12' } }),
    title: z.string(),
    category: z.string().nullable(),
    brand: z.string().nullable(),
    price: z.number().nullable(),
    image_url: z.string().nullable(),
    url: z.string().nullable(),
    in_stock: z.boolean(),
    pinned: z.boolean().optional(),
  })
  .openapi('RecommendedItem');

export const RecommendationResponseSchema = z
  .object({
    recommendation_id: z.string(),
    slot: z.string(),
    model_version: z.string().nullable(),
    strategy: z.enum(['model', 'popular', 'editorial', 'control']).openapi({ description: 'control = no personalization (experiment control group or global holdout)' }),
    fallback: z.boolean().openapi({ description: 'True when the planned strategy (the model, an editorial list) could not answer and a popularity list was served' }),
    experiment: z.string().nullable().openapi({ description: 'Experiment this answer belongs to ("global-holdout" for the holdout); null outside experiments' }),
    variant: z.string().nullable().openapi({ description: 'A/B variant or bandit arm; null outside experiments' }),
    variant_payload: z.record(z.string(), z.unknown()).optional().openapi({ description: "The variant's payload (banner, offer…), when it has one" }),
    segments: z
      .array(z.object({ name: z.string(), score: z.number() }))
      .openapi({ description: "Segments the shopper is in, with scores in [0, 1], best first" }),
    items: z.array(RecommendedItemSchema),
  })
  .openapi('Recommendations');

export type RecommendationResponse = z.output<typeof RecommendationResponseSchema>;
export type RecommendedItem = z.output<typeof RecommendedItemSchema>;
