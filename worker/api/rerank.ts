import { createRoute } from '@hono/zod-openapi';
import { errorResponses, sessionErrorResponses } from '../schemas/common';
import { RerankRequestSchema, RerankResponseSchema } from '../schemas/asks';
import { answer, headers } from './recommendations';
import { router } from './types';

export const rerankApi = router().openapi(
  createRoute({
    method: 'post',
    path: '/v1/rerank',
    summary: "The caller's own candidates (search results, a category page) ranked for this shopper",
    description: 'Every submitted id the catalog knows comes back, ranked by the model\'s rank stage (by popularity without a model); no filter or slot rule removes any. Ids the catalog does not know are listed in `unknown`.',
    request: { body: { required: true, content: { 'application/json': { schema: RerankRequestSchema, example: { items: ['sku-1', 'sku-2', 'sku-3'], session_id: 'sess-123' } } } } },
    responses: { 200: { description: 'The known candidates, ranked; the unknown ones listed', content: { 'application/json': { schema: RerankResponseSchema } } }, ...errorResponses, ...sessionErrorResponses },
  }),
  async (c) => {
    const { items, ...body } = c.req.valid('json');
    const ids = [...new Set(items)];
    const a = await answer(c, { ...body, k: ids.length, in_stock: false, include_purchased: true, ask: { strategy: 'rerank', items: ids } });
    const ranked = new Set(a.rec.items.map((i) => i.item_id));
    return c.json({ ...a.rec, unknown: ids.filter((id) => !ranked.has(id)) }, 200, headers(a));
  },
);
