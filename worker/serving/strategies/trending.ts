/** What is rising (GET /v1/trending): the active model's trending list, per category if asked; else the popularity list. */
import { onlyCategory } from '../../ranking/popular';
import { trendingItems } from '../../ranking/two-stage/serve';
import type { Strategy } from './types';

export const trending: Strategy = {
  name: 'trending',
  reportAs: 'model',
  fallbackTo: 'popular',
  async candidates(ctx, plan) {
    const m = ctx.activeModel;
    if (!m) return null;
    const ranked = trendingItems(m, ctx.lookup, ctx.filter, plan.want, onlyCategory(ctx.req));
    return ranked.length ? { ranked, modelVersion: m.version } : null;
  },
};
