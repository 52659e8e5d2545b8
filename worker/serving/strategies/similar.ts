/**
 * Item to item (GET /v1/items/{item_id}/similar): the active model's neighbour lists of the
 * request's item_id, not personalized. The model does not know the item (or there is none):
 * the chain goes on to the popularity list.
 */
import { itemNeighbours } from '../../ranking/two-stage/serve';
import type { Strategy } from './types';

export const similar: Strategy = {
  name: 'similar',
  reportAs: 'model',
  fallbackTo: 'popular',
  async candidates(ctx, plan) {
    const m = ctx.activeModel;
    if (!m || !ctx.req.item_id) return null;
    const ranked = await ctx.timing.measure('retrieve', itemNeighbours(m, ctx.req.item_id, ctx.lookup, ctx.filter, plan.want));
    return ranked?.length ? { ranked, modelVersion: m.version } : null;
  },
};
