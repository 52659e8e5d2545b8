import { createRoute } from '@hono/zod-openapi';
import { Timing } from '../lib/timing';
import { errorResponses } from '../schemas/common';
import { TrendingQuerySchema } from '../schemas/asks';
import { RecommendationResponseSchema } from '../schemas/recommendations';
import { serveSlot } from '../serving/pipeline';
import { router } from './types';

/** The trending list changes only when a model is published: a minute in shared caches is safe. */
export const TRENDING_MAX_AGE_S = 60;

export const trendingApi = router().openapi(
  createRoute({
    method: 'get',
    path: '/v1/trending',
    summary: 'What is rising: the model\'s trending items, optionally in one category, in stock',
    request: { query: TrendingQuerySchema },
    responses: { 200: { description: 'Trending items, most rising first', content: { 'application/json': { schema: RecommendationResponseSchema } } }, ...errorResponses },
  }),
  async (c) => {
    const { category, ...q } = c.req.valid('query');
    const timing = new Timing();
    const { response } = await serveSlot(
      { ...q, category: category ? [category] : undefined, include_purchased: true, ask: { strategy: 'trending' } },
      { env: c.env, timing, waitUntil: (p) => c.executionCtx.waitUntil(p), shopper: { userId: null } },
    );
    return c.json(response, 200, {
      'Server-Timing': timing.header(),
      'Cache-Control': `public, max-age=${TRENDING_MAX_AGE_S}`,
      ...(response.fallback ? { 'X-P13n-Fallback': '1' } : {}),
    });
  },
);
