/**
 * The model strategy's work for one request: history → neighbour lists (only the shards the
 * history touches) → candidates and features → the rank graph → ranked items with the reason
 * that retrieved each. Cost depends on the history and candidate counts, not the catalog size.
 */
import type { Device } from '../../../model/contract';
import type { ItemFacts } from '../../catalog/types';
import type { LoadedModel } from '../../inference/model-store';
import { neighbourLists } from '../../inference/neighbours';
import { rank } from '../../inference/score';
import type { Timing } from '../../lib/timing';
import type { SessionFeatures } from '../../session/durable-object';
import { shopperFor } from '../history';
import type { Ranked } from '../rules';
import { retrieve } from './candidates';

export interface ModelRequest {
  model: LoadedModel;
  features: SessionFeatures | null;
  contextItemId?: string;
  hour: number;
  device?: Device;
  lookup: (id: string) => ItemFacts | undefined;
  /** filters, stock and exclusions */
  allow: (item: ItemFacts) => boolean;
  want: number;
  timing: Timing;
}

export async function modelRanking(r: ModelRequest): Promise<Ranked[]> {
  const m = r.model;
  const shopper = shopperFor(m, r.features, r.contextItemId, r.hour, r.device);
  const neighbours = await r.timing.measure('retrieve', neighbourLists(m.shards, shopper.history.map((h) => h.id)));
  const t0 = performance.now();
  const c = retrieve({
    shopper,
    lists: m.lists,
    neighbours,
    facts: r.lookup,
    // retrieve() looked the facts up once (r.lookup): they are this catalog's full ItemFacts.
    allow: (_id, f) => f !== undefined && r.allow(f as ItemFacts),
    decay: m.manifest.retrieval.history_decay,
  });
  r.timing.add('features', performance.now() - t0);
  const top = await r.timing.measure('inference', rank(m, c.features, c.ids.length, r.want));
  return top.map((s) => ({ item: r.lookup(c.ids[s.index]!)!, score: s.score, why: c.reasons[s.index] }));
}
