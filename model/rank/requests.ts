/**
 * Offline requests: a user's history up to a step, as the worker builds it for the retrieval
 * stage (most recent first, recency decay × event strength), with the hour and device of the
 * interaction being predicted as the request's context.
 */
import type { ItemFacts, Shopper } from '../../worker/ranking/two-stage/candidates';
import { DEVICES } from '../contract';
import type { Dataset } from '../dataset';
import { asEpochMs, type TrainSeqs } from './retrieval-data';

export function shopperAt(ds: Dataset, data: TrainSeqs, u: number, upto: number, decay: number, maxHistory: number): Shopper {
  const s = data.seqs[u]!;
  const st = data.strengths[u]!;
  const history: Shopper['history'] = [];
  let w = 1;
  for (let p = upto - 1; p >= 0 && history.length < maxHistory; p--) {
    history.push({ id: ds.itemIds[s[p]!]!, weight: w * ((st[p] ?? 5) / 5), position: history.length });
    w *= decay;
  }
  const ms = upto < s.length ? asEpochMs(data.times[u]![upto]!) : NaN;
  const d = upto < s.length ? data.devices?.[u]?.[upto] : undefined;
  return { history, hour: Number.isFinite(ms) ? new Date(ms).getUTCHours() : 12, device: d !== undefined ? DEVICES[d] : undefined };
}

export function factsOf(ds: Dataset): (id: string) => ItemFacts | undefined {
  return (id) => {
    const i = ds.itemIndex.get(id);
    if (i === undefined) return undefined;
    const it = ds.items[i]!;
    return { category: it.category ?? null, brand: it.brand ?? null, price: it.price ?? null };
  };
}
