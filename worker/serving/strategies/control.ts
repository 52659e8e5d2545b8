/** No personalization (an experiment's control group, the global holdout): the popularity list without session features. */
import { onlyCategory, popularRanking } from '../../ranking/popular';
import type { Strategy } from './types';

export const control: Strategy = {
  name: 'control',
  reportAs: 'control',
  async candidates(ctx, plan) {
    return { ranked: popularRanking(ctx.catalog, ctx.filter, null, plan.want, onlyCategory(ctx.req)), modelVersion: null };
  },
};
