import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { variantTemplate } from '../experiments/serve';
import { describeIssues, errorBody, zodIssues } from '../lib/errors';
import { Timing } from '../lib/timing';
import { recommend } from '../ranking/recommend';
import { renderBlock } from '../render/block';
import { errorResponses } from '../schemas/common';
import { RecommendationRequestSchema, RecommendationResponseSchema, type RecommendationRequest } from '../schemas/recommendations';
import { getSlotConfig } from '../slots/config';
import { router, type AppEnv } from './types';

const QuerySchema = RecommendationRequestSchema;
const BlockQuerySchema = z.object({ slot: z.string().optional() }).passthrough();

async function answer(c: Context<AppEnv>, req: RecommendationRequest) {
  const timing = new Timing();
  const rec = await recommend(req, { env: c.env, timing, waitUntil: (p) => c.executionCtx.waitUntil(p) });
  return { rec, timing };
}

function headers(timing: Timing, fallback: boolean): Record<string, string> {
  return {
    'Server-Timing': timing.header(),
    'Cache-Control': 'private, no-store',
    ...(fallback ? { 'X-P13n-Fallback': '1' } : {}),
  };
}

const okJson = { 200: { description: 'Ranked items', content: { 'application/json': { schema: RecommendationResponseSchema } } }, ...errorResponses };

export const recommendationsApi = router()
  .openapi(
    createRoute({ method: 'get', path: '/v1/recommendations', summary: 'Personalized items for a slot', request: { query: QuerySchema }, responses: okJson }),
    async (c) => {
      const { rec, timing } = await answer(c, c.req.valid('query'));
      return c.json(rec, 200, headers(timing, rec.fallback));
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/recommendations',
      summary: 'Personalized items for a slot, with filters in a JSON body',
      request: { body: { required: true, content: { 'application/json': { schema: RecommendationRequestSchema } } } },
      responses: okJson,
    }),
    async (c) => {
      const { rec, timing } = await answer(c, c.req.valid('json'));
      return c.json(rec, 200, headers(timing, rec.fallback));
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/blocks/{slot}',
      summary: "The slot's recommendations rendered to an HTML fragment with the slot's template",
      request: { params: z.object({ slot: z.string().min(1).max(128) }), query: BlockQuerySchema },
      responses: { 200: { description: 'HTML fragment', content: { 'text/html': { schema: z.string() } } }, ...errorResponses },
    }),
    async (c) => {
      const parsed = RecommendationRequestSchema.safeParse({ ...c.req.query(), slot: c.req.valid('param').slot });
      if (!parsed.success) return c.json(invalid(parsed.error), 400);
      const { rec, timing } = await answer(c, parsed.data);
      const slot = await getSlotConfig(c.env.DB, rec.slot);
      return c.html(renderBlock(rec, variantTemplate(rec) ?? slot.template), 200, { ...headers(timing, rec.fallback), 'X-Recommendation-Id': rec.recommendation_id });
    },
  );

function invalid(error: z.ZodError) {
  const issues = zodIssues(error);
  return errorBody('invalid_request', describeIssues(issues), issues);
}
