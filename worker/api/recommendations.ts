import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { apiSessionId } from '../identity/api-session';
import { resolveApiShopper } from '../identity/shopper';
import { isServerCaller } from '../security/server-key';
import { describeIssues, errorBody, zodIssues } from '../lib/errors';
import { Timing } from '../lib/timing';
import { renderBlock } from '../render/block';
import { errorResponses, sessionErrorResponses } from '../schemas/common';
import { RecommendationRequestSchema, RecommendationResponseSchema } from '../schemas/recommendations';
import { serveSlot, type SlotRequest } from '../serving/pipeline';
import { readStamp } from '../session/stamp';
import { router, type AppEnv } from './types';

const QuerySchema = RecommendationRequestSchema;
const BlockQuerySchema = z.object({ slot: z.string().optional() }).passthrough();

/** One slot for the caller of the public API (also the rerank and batch routes). */
export async function answer(c: Context<AppEnv>, req: SlotRequest, pageReads?: Map<string, Promise<unknown>>) {
  const timing = new Timing();
  const shopper = await resolveApiShopper(c.req.raw, c.env, req);
  // Without full consent the answer is non-personalized: no session state is read or created.
  // With it, a browser uses only its own issued session; a storefront backend (server key) any.
  const caller = { server: await isServerCaller(c.env, c.req.raw), userId: shopper.userId };
  const session_id = shopper.consent === 'full' ? await apiSessionId(c.env, c.req.raw, caller, req.session_id) : undefined;
  const asked = { ...req, session_id };
  const served = await serveSlot(asked, { env: c.env, timing, waitUntil: (p) => c.executionCtx.waitUntil(p), shopper, sessionStamp: readStamp(c.req.raw), pageReads });
  return { rec: served.response, template: served.template, display: served.display, timing, shopper };
}

export function headers({ rec, timing, shopper }: Awaited<ReturnType<typeof answer>>): Record<string, string> {
  return {
    'Server-Timing': timing.header(),
    'Cache-Control': 'private, no-store',
    // How the caller was understood: consent level, and whether a user was recognised.
    'X-P13n-Consent': shopper.consent,
    'X-P13n-Identity': shopper.userId ? 'user' : shopper.unverifiedUser ? 'unverified' : 'anonymous',
    ...(rec.fallback ? { 'X-P13n-Fallback': '1' } : {}),
  };
}

const okJson = { 200: { description: 'Ranked items', content: { 'application/json': { schema: RecommendationResponseSchema } } }, ...errorResponses, ...sessionErrorResponses };

export const recommendationsApi = router()
  .openapi(
    createRoute({ method: 'get', path: '/v1/recommendations', summary: 'Personalized items for a slot', request: { query: QuerySchema }, responses: okJson }),
    async (c) => {
      const a = await answer(c, c.req.valid('query'));
      return c.json(a.rec, 200, headers(a));
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
      const a = await answer(c, c.req.valid('json'));
      return c.json(a.rec, 200, headers(a));
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/blocks/{slot}',
      summary: "The slot's recommendations rendered to an HTML fragment with the slot's template",
      request: { params: z.object({ slot: z.string().min(1).max(128) }), query: BlockQuerySchema },
      responses: { 200: { description: 'HTML fragment', content: { 'text/html': { schema: z.string() } } }, ...errorResponses, ...sessionErrorResponses },
    }),
    async (c) => {
      const parsed = RecommendationRequestSchema.safeParse({ ...c.req.query(), slot: c.req.valid('param').slot });
      if (!parsed.success) return c.json(invalid(parsed.error), 400);
      const a = await answer(c, parsed.data);
      return c.html(renderBlock(a.rec, a.template.html, a.display), 200, { ...headers(a), 'X-Recommendation-Id': a.rec.recommendation_id });
    },
  );

export function invalid(error: z.ZodError) {
  const issues = zodIssues(error);
  return errorBody('invalid_request', describeIssues(issues), issues);
}
