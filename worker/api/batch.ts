import { createRoute } from '@hono/zod-openapi';
import { errorResponses, sessionErrorResponses } from '../schemas/common';
import { BatchRequestSchema, BatchResponseSchema } from '../schemas/asks';
import { answer, headers } from './recommendations';
import { router } from './types';

export const batchApi = router().openapi(
  createRoute({
    method: 'post',
    path: '/v1/recommendations/batch',
    summary: "Several slots of one page in one call (the shopper's session is read once)",
    request: {
      body: {
        required: true,
        content: { 'application/json': { schema: BatchRequestSchema, example: { session_id: 'sess-123', requests: [{ slot: 'home-hero', k: 4 }, { slot: 'home-recs', k: 10, category: ['skincare'] }] } } },
      },
    },
    responses: { 200: { description: 'One answer per slot, in the order asked', content: { 'application/json': { schema: BatchResponseSchema } } }, ...errorResponses, ...sessionErrorResponses },
  }),
  async (c) => {
    const { requests, ...shopper } = c.req.valid('json');
    const pageReads = new Map<string, Promise<unknown>>();
    const answers = await Promise.all(requests.map((r) => answer(c, { ...r, ...shopper }, pageReads)));
    const h = headers(answers[0]!);
    if (answers.some((a) => a.rec.fallback)) h['X-P13n-Fallback'] = '1';
    else delete h['X-P13n-Fallback'];
    return c.json({ results: answers.map((a) => a.rec) }, 200, h);
  },
);
