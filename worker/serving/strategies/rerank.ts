/**
 * The caller's own candidates (POST /v1/rerank) ranked for this shopper by the active model's
 * rank stage; without a model (or when it fails), by catalog popularity. Every known id is
 * returned: no filter, rule or cut applies (the plan gives rerank no rules and k = all of them).
 */
import type { ItemFacts } from '../../catalog/types';
import { noteFault } from '../../ops/faults';
import { log } from '../../ops/log';
import { modelRerank } from '../../ranking/two-stage/serve';
import type { ServeContext } from '../context';
import type { Strategy } from './types';

/** The submitted ids the catalog knows, in submitted order. */
function known(ctx: ServeContext): ItemFacts[] {
  if (ctx.ask?.strategy !== 'rerank') return [];
  return ctx.ask.items.flatMap((id) => ctx.lookup(id) ?? []);
}

export const rerank: Strategy = {
  name: 'rerank',
  reportAs: 'model',
  fallbackTo: 'rerank_popular',
  async candidates(ctx) {
    const m = ctx.activeModel;
    const items = known(ctx);
    if (!m || !items.length) return null;
    try {
      const ranked = await modelRerank({ model: m, features: ctx.features, hour: ctx.hour, device: ctx.req.device, lookup: ctx.lookup, timing: ctx.timing, items: items.map((i) => i.id) });
      return { ranked, modelVersion: m.version };
    } catch (e) {
      log('error', 'inference_failed', { version: m.version, error: (e as Error).message });
      noteFault('inference', `model ${m.version}: ${(e as Error).message}`);
      throw e;
    }
  },
};

export const rerankPopular: Strategy = {
  name: 'rerank_popular',
  reportAs: 'popular',
  async candidates(ctx) {
    return { ranked: known(ctx).map((item) => ({ item, score: Math.log1p(item.popularity) })), modelVersion: null };
  },
};
