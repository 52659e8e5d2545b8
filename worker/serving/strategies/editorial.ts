/** An experiment variant's fixed item list, in its order, minus what the request's filters exclude. */
import type { ItemFacts } from '../../catalog/types';
import type { Ranked } from '../../ranking/rules';
import type { Strategy } from './types';

export const editorial: Strategy = {
  name: 'editorial',
  reportAs: 'editorial',
  fallbackTo: 'popular',
  async candidates(ctx, plan) {
    const ids = plan.variant?.items;
    if (!ids?.length) return null;
    return { ranked: editorialRanking(ids, ctx.lookup, ctx.filter), modelVersion: null };
  },
};

export function editorialRanking(ids: string[], lookup: (id: string) => ItemFacts | undefined, allowed: (item: ItemFacts) => boolean): Ranked[] {
  const out: Ranked[] = [];
  for (const id of ids) {
    const item = lookup(id);
    if (item && allowed(item)) out.push({ item, score: ids.length - out.length });
  }
  return out;
}
