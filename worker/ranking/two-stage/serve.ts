/**
 * The model strategy's work for one request: history → neighbour lists (only the shards the
 * history touches) → candidates and features → the rank graph → ranked items with the reason
 * that retrieved each. Cost depends on the history and candidate counts, not the catalog size.
 */
import { F, type Device } from '../../../model/contract';
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
  return top.map((s) => ({ item: r.lookup(c.ids[s.index]!)!, score: s.score, why: c.reasons[s.index], features: c.features.subarray(s.index * F, (s.index + 1) * F) }));
}

/**
 * The caller's own candidates (rerank) through the same rank stage: features for just these
 * items (their neighbour entries give their attributes), every one of them scored, best first.
 * Ids the model does not know are still ranked, on the features the shopper's history gives them.
 */
export async function modelRerank(r: Omit<ModelRequest, 'allow' | 'want'> & { items: string[] }): Promise<Ranked[]> {
  const m = r.model;
  const shopper = shopperFor(m, r.features, r.contextItemId, r.hour, r.device);
  const neighbours = await r.timing.measure('retrieve', neighbourLists(m.shards, [...shopper.history.map((h) => h.id), ...r.items]));
  const t0 = performance.now();
  const wanted = new Set(r.items);
  const c = retrieve({
    shopper,
    lists: m.lists,
    neighbours,
    facts: r.lookup,
    allow: (id) => wanted.has(id),
    decay: m.manifest.retrieval.history_decay,
    seeds: r.items.map((id) => ({ id, attrs: neighbours.get(id)?.attrs ?? [] })),
    maxCandidates: r.items.length,
  });
  r.timing.add('features', performance.now() - t0);
  const top = await r.timing.measure('inference', rank(m, c.features, c.ids.length, c.ids.length));
  return top.map((s) => ({ item: r.lookup(c.ids[s.index]!)!, score: s.score, why: c.reasons[s.index] }));
}

/**
 * Item to item: the model's neighbour lists of one item, collaborative first (by weight), then
 * the content neighbours not already in; null when the model does not know the item.
 */
export async function itemNeighbours(model: LoadedModel, itemId: string, lookup: ModelRequest['lookup'], allow: ModelRequest['allow'], want: number): Promise<Ranked[] | null> {
  const entry = (await neighbourLists(model.shards, [itemId])).get(itemId);
  if (!entry) return null;
  const out: Ranked[] = [];
  const seen = new Set<string>([itemId]);
  const add = (id: string, score: number, why: Ranked['why']) => {
    const item = seen.has(id) ? undefined : lookup(id);
    seen.add(id);
    if (item && allow(item) && out.length < want) out.push({ item, score, why });
  };
  for (const n of entry.collaborative) if (n.w > 0) add(n.id, 1 + n.w, { kind: 'history', itemId, action: 'context' });
  for (const n of entry.content) add(n.id, Math.max(0, Math.min(1, n.w)), { kind: 'content', itemId });
  return out;
}

/**
 * The model's trending list in its order; for one category, its part of that list and then its
 * rising popular items (trend > 0, most rising first). Filtered (stock, the request's filters).
 */
export function trendingItems(model: LoadedModel, lookup: ModelRequest['lookup'], allow: ModelRequest['allow'], want: number, category?: string): Ranked[] {
  const out: Ranked[] = [];
  const seen = new Set<string>();
  const rising = category ? [...(model.lists.categoryPopular[category] ?? [])].filter((t) => t.trend > 0).sort((a, b) => b.trend - a.trend) : [];
  for (const t of [...model.lists.trending, ...rising]) {
    if (out.length >= want) break;
    const item = seen.has(t.id) ? undefined : lookup(t.id);
    seen.add(t.id);
    // Score: the list's order (the pipeline sorts by score), whatever the trend values.
    if (item && (!category || item.category === category) && allow(item)) out.push({ item, score: 1 - out.length / want, why: { kind: 'trending', category: item.category } });
  }
  return out;
}
