/**
 * Stage one of the model strategy: retrieve candidates and compute their rank features.
 * Work grows with the history length and the candidate count, never with the catalog size.
 * The same code serves requests (worker) and scores the offline evaluation (model/evaluate.ts),
 * so what `npm run model:eval` measures is what shoppers get.
 *
 * Sources, in order: the collaborative and content neighbour lists of the history items, then
 * the trending, category-popular (the shopper's top categories) and popular lists. Each
 * candidate remembers what retrieved it; that is its reason.
 */
import { DEVICES, F, FEATURE_INDEX as FI, hourBucket, type Device, type ModelLists } from '../../../model/contract';
import type { NeighbourEntry } from '../../../model/format/shards';

export interface HistoryItem {
  id: string;
  /** recency decay × event strength: what the shopper did with it and how long ago */
  weight: number;
  /** 0 = most recent */
  position: number;
  /** what the shopper did, for the reason ("viewed", "bought" …) */
  action?: string;
}

export interface ItemFacts {
  category: string | null;
  brand: string | null;
  price: number | null;
}

export interface Shopper {
  /** most recent first */
  history: HistoryItem[];
  /** long-term attribute weights ("category:x", "brand:y"), e.g. the D1 profile's affinities */
  longTerm?: Record<string, number>;
  hour: number;
  device?: Device;
}

export type Reason =
  | { kind: 'history'; itemId: string; action?: string }
  | { kind: 'content'; itemId: string }
  | { kind: 'trending'; category: string | null }
  | { kind: 'category'; category: string }
  | { kind: 'popular'; category: string | null };

export interface Candidates {
  ids: string[];
  /** C × F, row-major, FEATURES order */
  features: Float32Array;
  reasons: Reason[];
}

export interface RetrieveInput {
  shopper: Shopper;
  lists: ModelLists;
  /** neighbour entries of the history items (missing ones: unknown to the model) */
  neighbours: Map<string, NeighbourEntry>;
  facts: (id: string) => ItemFacts | undefined;
  /** may this item be shown (filters, stock, exclusions)? */
  allow: (id: string, facts: ItemFacts | undefined) => boolean;
  /** history decay the model was trained with */
  decay: number;
  /** how many of the shopper's top categories get their category-popular list */
  topCategories?: number;
  /** cap on candidates ranked (the most strongly retrieved are kept) */
  maxCandidates?: number;
  /** how many items of each list are considered (the lists in lists.json may hold more) */
  listLimits?: Partial<typeof LIST_LIMITS>;
  /**
   * The caller's own candidates (rerank): each is a candidate whatever retrieves it, with its
   * attributes from its own neighbour entry; `allow` should admit only these.
   */
  seeds?: { id: string; attrs: number[] }[];
}

/** Per request, the heads of the lists: deeper list items rarely reach a top 10, and each costs features. */
export const LIST_LIMITS = { popular: 100, trending: 20, category: 20 };

interface Acc {
  attrs: number[];
  nbr: number;
  nbrMax: number;
  recency: number;
  triggers: number;
  content: number;
  pop: number;
  trend: number;
  fromLists: boolean;
  reason: Reason;
  /** strength of the reason, to keep the best one */
  why: number;
}

export function priceBand(price: number | null | undefined, cuts: number[]): number {
  if (price === null || price === undefined || !Number.isFinite(price)) return -1;
  let b = 0;
  while (b < cuts.length && price >= cuts[b]!) b++;
  return b;
}

/** The shopper's attention shares per category, brand and price band (session history + long-term). */
export function affinities(shopper: Shopper, facts: RetrieveInput['facts'], cuts: number[]) {
  const cat = new Map<string, number>();
  const brand = new Map<string, number>();
  const price = new Float64Array(cuts.length + 1);
  let total = 0;
  let priced = 0;
  for (const h of shopper.history) {
    const f = facts(h.id);
    if (!f) continue;
    total += h.weight;
    if (f.category) cat.set(f.category, (cat.get(f.category) ?? 0) + h.weight);
    if (f.brand) brand.set(f.brand, (brand.get(f.brand) ?? 0) + h.weight);
    const b = priceBand(f.price, cuts);
    if (b >= 0) {
      price[b]! += h.weight;
      priced += h.weight;
    }
  }
  // The long-term profile counts as much as the session, whatever its scale.
  const lt = Object.entries(shopper.longTerm ?? {});
  let ltCat = 0;
  let ltBrand = 0;
  for (const [k, w] of lt) {
    if (k.startsWith('category:')) ltCat += w;
    else if (k.startsWith('brand:')) ltBrand += w;
  }
  const share = (m: Map<string, number>, ltPrefix: string, ltTotal: number) => {
    const out = new Map<string, number>();
    const own = [...m.values()].reduce((s, x) => s + x, 0);
    const parts = (own > 0 ? 1 : 0) + (ltTotal > 0 ? 1 : 0);
    if (!parts) return out;
    for (const [k, w] of m) out.set(k, w / own / parts);
    if (ltTotal > 0) for (const [k, w] of lt) if (k.startsWith(ltPrefix)) out.set(k.slice(ltPrefix.length), (out.get(k.slice(ltPrefix.length)) ?? 0) + w / ltTotal / parts);
    return out;
  };
  if (priced > 0) for (let b = 0; b < price.length; b++) price[b] = price[b]! / priced;
  return { category: share(cat, 'category:', ltCat), brand: share(brand, 'brand:', ltBrand), price, total };
}

const MAX_CANDIDATES = 1500;

export function retrieve(input: RetrieveInput): Candidates {
  const { shopper, lists, neighbours, facts, allow } = input;
  const acc = new Map<string, Acc>();
  const factCache = new Map<string, ItemFacts | undefined>();
  const factsOf = (id: string) => {
    if (!factCache.has(id)) factCache.set(id, facts(id));
    return factCache.get(id);
  };
  const allowed = new Map<string, boolean>();
  const ok = (id: string) => {
    let a = allowed.get(id);
    if (a === undefined) allowed.set(id, (a = allow(id, factsOf(id))));
    return a;
  };
  const get = (id: string, pop: number, trend: number, attrs: number[], reason: Reason): Acc | undefined => {
    let a = acc.get(id);
    if (!a) {
      if (!ok(id)) return undefined;
      a = { attrs, nbr: 0, nbrMax: 0, recency: 0, triggers: 0, content: 0, pop, trend, fromLists: true, reason, why: -1 };
      acc.set(id, a);
    }
    a.pop = Math.max(a.pop, pop);
    if (trend !== 0 && Math.abs(trend) > Math.abs(a.trend)) a.trend = trend;
    return a;
  };

  // 0. The caller's candidates: from the lists below until a neighbour list retrieves them.
  for (const sd of input.seeds ?? []) get(sd.id, 0, 0, sd.attrs, { kind: 'popular', category: factsOf(sd.id)?.category ?? null });

  // 1. Neighbour lists of the history (collaborative first: they carry most of the signal).
  let wsum = 0;
  for (const h of shopper.history) wsum += h.weight;
  for (const h of shopper.history) {
    const e = neighbours.get(h.id);
    if (!e) continue;
    const wn = h.weight / (wsum + 1e-6);
    const recency = input.decay ** h.position;
    for (const n of e.collaborative) {
      if (n.w <= 0) continue;
      const a = get(n.id, n.pop, n.trend, n.attrs, { kind: 'history', itemId: h.id, action: h.action });
      if (!a) continue;
      a.nbr += wn * n.w;
      a.nbrMax = Math.max(a.nbrMax, n.w);
      a.recency = Math.max(a.recency, recency);
      a.triggers += 1;
      a.fromLists = false;
      if (wn * n.w > a.why) {
        a.why = wn * n.w;
        a.reason = { kind: 'history', itemId: h.id, action: h.action };
      }
    }
    for (const n of e.content) {
      const a = get(n.id, n.pop, n.trend, n.attrs, { kind: 'content', itemId: h.id });
      if (!a) continue;
      a.content += wn * n.w;
      a.fromLists = false;
      if (a.why < 0) {
        a.why = 0;
        a.reason = { kind: 'content', itemId: h.id };
      }
    }
  }

  // 2. Lists: trending, the shopper's top categories, overall popularity.
  const aff = affinities(shopper, factsOf, lists.priceCuts);
  const lim = { ...LIST_LIMITS, ...input.listLimits };
  for (const t of lists.trending.slice(0, lim.trending)) get(t.id, t.pop, t.trend, t.attrs, { kind: 'trending', category: factsOf(t.id)?.category ?? null });
  const topCats = [...aff.category.entries()].sort((a, b) => b[1] - a[1]).slice(0, input.topCategories ?? 3);
  for (const [c] of topCats) for (const p of (lists.categoryPopular[c] ?? []).slice(0, lim.category)) get(p.id, p.pop, p.trend, p.attrs, { kind: 'category', category: c });
  for (const p of lists.popular.slice(0, lim.popular)) get(p.id, p.pop, p.trend, p.attrs, { kind: 'popular', category: factsOf(p.id)?.category ?? null });

  // 3. Features.
  const profile = attributeProfile(shopper, neighbours, lists, wsum);
  let entries = [...acc.entries()];
  const cap = input.maxCandidates ?? MAX_CANDIDATES;
  if (entries.length > cap) entries = entries.sort((x, y) => y[1].nbr + y[1].content - (x[1].nbr + x[1].content) || y[1].pop - x[1].pop).slice(0, cap);
  const hb = hourBucket(shopper.hour);
  const dev = DEVICES.indexOf(shopper.device ?? 'other');
  const features = new Float32Array(entries.length * F);
  const ids: string[] = new Array(entries.length);
  const reasons: Reason[] = new Array(entries.length);
  entries.forEach(([id, a], r) => {
    const f = factsOf(id);
    const row = r * F;
    features[row + FI.nbr_score] = a.nbr;
    features[row + FI.nbr_max] = a.nbrMax;
    features[row + FI.trigger_recency] = a.recency;
    features[row + FI.triggers] = Math.log1p(a.triggers);
    features[row + FI.content_score] = a.content;
    features[row + FI.attribute_match] = profile.match(a.attrs);
    features[row + FI.popularity] = a.pop;
    features[row + FI.trend] = a.trend;
    if (f) {
      if (f.category) {
        features[row + FI.category_affinity] = aff.category.get(f.category) ?? 0;
        features[row + FI.hour_match] = lists.hour[f.category]?.[hb] ?? 0;
        features[row + FI.device_match] = lists.device[f.category]?.[dev] ?? 0;
      }
      if (f.brand) features[row + FI.brand_affinity] = aff.brand.get(f.brand) ?? 0;
      const b = priceBand(f.price, lists.priceCuts);
      if (b >= 0) features[row + FI.price_affinity] = aff.price[b] ?? 0;
    }
    features[row + FI.from_lists] = a.fromLists ? 1 : 0;
    ids[r] = id;
    reasons[r] = a.reason;
  });
  return { ids, features, reasons };
}

const attrIndexes = new WeakMap<ModelLists, Map<string, number>>();

/**
 * The shopper's IDF-weighted attribute profile: the history items' attributes (from their own
 * shard entries) weighted like the history, plus the long-term profile's category and brand
 * weights as an equal share; `match` is its cosine with a candidate's attributes.
 */
function attributeProfile(shopper: Shopper, neighbours: Map<string, NeighbourEntry>, lists: ModelLists, wsum: number) {
  const prof = new Map<number, number>();
  const add = (x: number, w: number) => {
    const idf = lists.idf[x] ?? 0;
    if (idf > 0) prof.set(x, (prof.get(x) ?? 0) + w * idf);
  };
  for (const h of shopper.history) {
    const e = neighbours.get(h.id);
    if (e) for (const x of e.attrs) add(x, h.weight / (wsum + 1e-6));
  }
  const lt = Object.entries(shopper.longTerm ?? {});
  if (lt.length) {
    let index = attrIndexes.get(lists);
    if (!index) attrIndexes.set(lists, (index = new Map(lists.attributes.map((a, i) => [a, i]))));
    let total = 0;
    for (const [, w] of lt) total += w;
    for (const [k, w] of lt) {
      const x = index.get(k);
      if (x !== undefined && total > 0) add(x, w / total);
    }
  }
  let ss = 0;
  for (const v of prof.values()) ss += v * v;
  const norm = Math.sqrt(ss);
  return {
    match(attrs: number[]): number {
      if (!norm || !attrs.length) return 0;
      let dot = 0;
      let cs = 0;
      for (const x of attrs) {
        const idf = lists.idf[x] ?? 0;
        dot += (prof.get(x) ?? 0) * idf;
        cs += idf * idf;
      }
      return cs > 0 ? dot / (norm * Math.sqrt(cs)) : 0;
    },
  };
}
