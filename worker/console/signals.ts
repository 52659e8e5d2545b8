/**
 * The console preview's per-item signals: what the shopper's state says about each shown item,
 * from the same facts the rankers use (worker/ranking/popular.ts, worker/ranking/reasons.ts):
 *   popularity        ln(1 + popularity), the popularity ranker's base score;
 *   session category  the session's weight of the item's category / its strongest category (0..1),
 *                     the popularity ranker's boost (score × (1 + this));
 *   session brand     the same for the item's brand;
 *   profile category / profile brand  the long-term profile's affinity (signed-in shoppers);
 *   seen in category  how many of the session's recent events were in the item's category.
 * Items the model ranked add its signals: each rank feature times the model's learned weight
 * (manifest `weights`), largest first, named `model: <feature>`; they sum to the item's score
 * (the rank graph is features · weights) before the slot's boosts.
 */
import { FEATURES } from '../../model/contract';
import type { ItemFacts } from '../catalog/types';
import type { SessionFeatures } from '../session/durable-object';

export type Signal = { name: string; value: number };

function share(attrs: Record<string, number>, prefix: string, key: string | null): number {
  if (!key) return 0;
  let max = 0;
  for (const [a, w] of Object.entries(attrs)) if (a.startsWith(prefix)) max = Math.max(max, w);
  return max > 0 ? (attrs[`${prefix}${key}`] ?? 0) / max : 0;
}

export function modelSignals(row: Float32Array | undefined, weights: Record<string, number> | null): Signal[] {
  if (!row || !weights) return [];
  return FEATURES.map((name, i) => ({ name: `model: ${name}`, value: Math.round((weights[name] ?? 0) * (row[i] ?? 0) * 1000) / 1000 }))
    .filter((s) => s.value !== 0)
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
}

export function itemSignals(item: ItemFacts, f: SessionFeatures | null, lookup: (id: string) => ItemFacts | undefined): Signal[] {
  const attrs = f?.attrs ?? {};
  const aff = f?.profile?.affinities ?? {};
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return [
    { name: 'popularity', value: round(Math.log1p(item.popularity)) },
    { name: 'session category', value: round(share(attrs, 'category:', item.category)) },
    { name: 'session brand', value: round(share(attrs, 'brand:', item.brand)) },
    { name: 'profile category', value: round(item.category ? (aff[`category:${item.category}`] ?? 0) : 0) },
    { name: 'profile brand', value: round(item.brand ? (aff[`brand:${item.brand}`] ?? 0) : 0) },
    { name: 'seen in category', value: (f?.recent ?? []).filter((r) => item.category && lookup(r.itemId)?.category === item.category).length },
  ];
}
