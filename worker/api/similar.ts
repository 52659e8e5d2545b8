import { createRoute, z } from '@hono/zod-openapi';
import { catalogHas } from '../catalog/serving';
import { errorBody } from '../lib/errors';
import { Timing } from '../lib/timing';
import { ErrorSchema, Id, errorResponses } from '../schemas/common';
import { SimilarQuerySchema } from '../schemas/asks';
import { RecommendationResponseSchema } from '../schemas/recommendations';
import { serveSlot } from '../serving/pipeline';
import { router } from './types';

/** Not personalized: the same answer for everyone, so shared caches may keep it this long. */
export const SIMILAR_MAX_AGE_S = 300;

export const similarApi = router().openapi(
  createRoute({
    method: 'get',
    path: '/v1/items/{item_id}/similar',
    summary: 'Items similar to / often viewed with one item (product page), not personalized',
    description: "The model's neighbour lists of the item: items shoppers viewed with it first, then items like it. Cacheable by shared caches (`Cache-Control: public`).",
    request: { params: z.object({ item_id: Id.openapi({ example: 'sku-1' }) }), query: SimilarQuerySchema },
    responses: {
      200: { description: 'Similar items, with reasons', content: { 'application/json': { schema: RecommendationResponseSchema } } },
      ...errorResponses,
      404: { description: 'The catalog does not know the item', content: { 'application/json': { schema: ErrorSchema } } },
    },
  }),
  async (c) => {
    const { item_id } = c.req.valid('param');
    const q = c.req.valid('query');
    if (!(await catalogHas(c.env, item_id, (p) => c.executionCtx.waitUntil(p)))) return c.json(errorBody('not_found', `no item ${item_id} in the catalog`), 404);
    const timing = new Timing();
    const { response } = await serveSlot(
      { ...q, item_id, include_purchased: true, ask: { strategy: 'similar' } },
      { env: c.env, timing, waitUntil: (p) => c.executionCtx.waitUntil(p), shopper: { userId: null } },
    );
    return c.json(response, 200, {
      'Server-Timing': timing.header(),
      'Cache-Control': `public, max-age=${SIMILAR_MAX_AGE_S}`,
      ...(response.fallback ? { 'X-P13n-Fallback': '1' } : {}),
    });
  },
);
