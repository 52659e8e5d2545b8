/** The popularity list shaped by the session's categories: cold start, and the fallback that never fails. */
import { onlyCategory, popularRanking } from '../../ranking/popular';
import type { Strategy } from './types';

export const popular: Strategy = {
  name: 'popular',
  reportAs: 'popular',
  async candidates(ctx, plan) {
    return { ranked: popularRanking(ctx.catalog, ctx.filter, ctx.features, plan.want, onlyCategory(ctx.req)), modelVersion: null };
  },
};
