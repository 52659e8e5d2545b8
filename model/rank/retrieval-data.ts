/**
 * What the retrieval stage reads, built from training sequences: per item its collaborative
 * neighbours (co-occurrence + sequential transitions, pruned to top-K) and content neighbours
 * (IDF-weighted attribute cosine among the popular items of its category and brand), plus the
 * lists and context tables every request may use (popular, trending, category-popular, hour and
 * device log-ratios per category). All loops are over typed arrays; nothing is spread.
 */
import { DEVICES, hourBucket, type ModelLists } from '../contract';
import type { Dataset } from '../dataset';
import type { NeighbourEntry } from '../format/shards';
import { blended, type Cooc, neighbourLists, pruneTopK } from '../similarity';
import type { TrainConfig } from '../train';

export interface TrainSeqs {
  seqs: Int32Array[];
  strengths: Float32Array[];
  times: Float64Array[];
  /** per interaction: index in DEVICES, when the data has a device column */
  devices?: Uint8Array[];
}

export interface RetrievalData {
  n: number;
  k: number;
  nbrIdx: Int32Array;
  nbrW: Float32Array;
  kc: number;
  /** content neighbours (-1 = none) and similarities */
  ctIdx: Int32Array;
  ctW: Float32Array;
  pop: Float32Array;
  trend: Float32Array;
  lists: ModelLists;
  count: Float64Array;
}

// As deep as retrieval reads them (worker/ranking/two-stage/candidates.ts LIST_LIMITS): lists.json stays small.
export const LIST_SIZES = { popular: 100, trending: 20, categoryPopular: 20 } as const;
const CONTENT_POOL = 30;
/** pseudo-interactions a category's context shares are shrunk with (rare categories stay near 0) */
const PRIOR = 20;
const POOL_ATTRS = 4;

/** Milliseconds since the epoch, or NaN when the value is an ordinal (e.g. Beauty's positions). */
export function asEpochMs(ts: number): number {
  if (ts > 1e11) return ts;
  if (ts > 1e8) return ts * 1000;
  return NaN;
}

function popularity(count: Float64Array): Float32Array {
  let max = 0;
  for (let i = 0; i < count.length; i++) if (count[i]! > max) max = count[i]!;
  const den = Math.log1p(max) || 1;
  const out = new Float32Array(count.length);
  for (let i = 0; i < count.length; i++) out[i] = Math.log1p(count[i]!) / den;
  return out;
}

/** Top `n` indices of `score` among `pool` (or all), descending, ties by lower index. */
function topIndices(score: ArrayLike<number>, n: number, pool?: ArrayLike<number>, minScore = 0): number[] {
  const idx: number[] = [];
  const len = pool ? pool.length : score.length;
  for (let x = 0; x < len; x++) {
    const i = pool ? pool[x]! : x;
    if (score[i]! > minScore) idx.push(i);
  }
  idx.sort((a, b) => score[b]! - score[a]! || a - b);
  return idx.slice(0, n);
}

function trends(ds: Dataset, data: TrainSeqs, count: Float64Array): Float32Array {
  const n = ds.items.length;
  const out = new Float32Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of data.times)
    for (let p = 0; p < t.length; p++) {
      const ms = asEpochMs(t[p]!);
      if (!Number.isFinite(ms)) return out; // no real clock: no trend
      if (ms < lo) lo = ms;
      if (ms > hi) hi = ms;
    }
  const span = hi - lo;
  if (!(span >= 2 * 86_400_000)) return out;
  const window = Math.min(7 * 86_400_000, span / 4);
  const recent = new Float64Array(n);
  data.seqs.forEach((s, u) => {
    const t = data.times[u]!;
    for (let p = 0; p < s.length; p++) if (asEpochMs(t[p]!) > hi - window) recent[s[p]!]! += 1;
  });
  for (let i = 0; i < n; i++) {
    const expected = (count[i]! * window) / span;
    out[i] = Math.max(-1, Math.min(1, Math.log((recent[i]! + 1) / (expected + 1)) / 2));
  }
  return out;
}

/**
 * Per category c and bucket b: log(p_cb / P_b), the category's share in the bucket (shrunk toward
 * the overall share with PRIOR pseudo-interactions) over the overall share; clamped to ±2, and 0
 * in buckets with no interactions at all.
 */
function logRatios(perCategory: Map<string, Float64Array>, buckets: number): Record<string, number[]> {
  const all = new Float64Array(buckets);
  for (const v of perCategory.values()) for (let b = 0; b < buckets; b++) all[b]! += v[b]!;
  let total = 0;
  for (let b = 0; b < buckets; b++) total += all[b]!;
  const out: Record<string, number[]> = {};
  if (total === 0) return out;
  for (const [c, v] of perCategory) {
    let nc = 0;
    for (let b = 0; b < buckets; b++) nc += v[b]!;
    const row: number[] = [];
    for (let b = 0; b < buckets; b++) {
      if (all[b] === 0) {
        row.push(0);
        continue;
      }
      const P = all[b]! / total;
      const r = Math.log((v[b]! + PRIOR * P + 1e-9) / (nc + PRIOR) / P);
      row.push(Math.round(Math.max(-2, Math.min(2, r)) * 1e4) / 1e4);
    }
    out[c] = row;
  }
  return out;
}

function contextTables(ds: Dataset, data: TrainSeqs): { hour: Record<string, number[]>; device: Record<string, number[]> } {
  const hour = new Map<string, Float64Array>();
  const device = new Map<string, Float64Array>();
  let clock = true;
  data.seqs.forEach((s, u) => {
    const t = data.times[u]!;
    const d = data.devices?.[u];
    for (let p = 0; p < s.length; p++) {
      const c = ds.items[s[p]!]!.category;
      if (!c) continue;
      const ms = asEpochMs(t[p]!);
      if (!Number.isFinite(ms)) clock = false;
      else {
        let h = hour.get(c);
        if (!h) hour.set(c, (h = new Float64Array(4)));
        h[hourBucket(new Date(ms).getUTCHours())]! += 1;
      }
      if (d) {
        let v = device.get(c);
        if (!v) device.set(c, (v = new Float64Array(DEVICES.length)));
        v[d[p]!]! += 1;
      }
    }
  });
  return { hour: clock ? logRatios(hour, 4) : {}, device: logRatios(device, DEVICES.length) };
}

/** Does candidate (sim, j) rank before slot r: similarity, then popularity, then the lower index. */
function ahead(sim: number, j: number, r: number, topS: Float64Array, topJ: Int32Array, count: Float64Array): boolean {
  const s = topS[r]!;
  if (sim !== s) return sim > s;
  const c = count[j]!;
  const cr = count[topJ[r]!]!;
  return c !== cr ? c > cr : j < topJ[r]!;
}

/** IDF of each attribute: log(1 + N / (1 + items having it)). */
export function attributeIdf(ds: Dataset): Float64Array {
  const n = ds.items.length;
  const df = new Float64Array(ds.attributes.length);
  for (const l of ds.itemAttrs) for (const x of l) df[x]! += 1;
  return df.map((d) => Math.log(1 + n / (1 + d)));
}

/**
 * Content neighbours: IDF-weighted cosine over attribute sets (category, brand, price band,
 * tags), among the most popular items sharing one of the item's most specific attributes.
 * Bounded work per item (POOL_ATTRS pools of CONTENT_POOL items), whatever the catalog size.
 */
function contentNeighbours(ds: Dataset, count: Float64Array, kc: number, progress?: (d: number, t: number) => void): { idx: Int32Array; w: Float32Array } {
  const n = ds.items.length;
  const a = ds.attributes.length;
  const df = new Float64Array(a);
  for (const l of ds.itemAttrs) for (const x of l) df[x]! += 1;
  const idf = attributeIdf(ds);
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (const x of ds.itemAttrs[i]!) ss += idf[x]! * idf[x]!;
    norm[i] = Math.sqrt(ss);
  }
  // pools: the most popular items of each attribute, kept with a bounded insertion (no sort of all items)
  const pools: Int32Array[] = [];
  const poolLen = new Int32Array(a);
  for (let j = 0; j < a; j++) pools.push(new Int32Array(Math.min(CONTENT_POOL, df[j]!)));
  for (let i = 0; i < n; i++)
    for (const x of ds.itemAttrs[i]!) {
      const p = pools[x]!;
      let len = poolLen[x]!;
      if (len < p.length) p[len] = i, (poolLen[x] = ++len);
      else if (count[i]! > count[p[len - 1]!]!) p[len - 1] = i;
      else continue;
      for (let q = len - 1; q > 0 && count[p[q]!]! > count[p[q - 1]!]!; q--) [p[q], p[q - 1]] = [p[q - 1]!, p[q]!];
    }
  const idx = new Int32Array(n * kc).fill(-1);
  const w = new Float32Array(n * kc);
  const weight = new Float64Array(a);
  const seen = new Int32Array(n).fill(-1);
  // per item: the best kc so far, kept sorted (insertion into a small array, no per-candidate objects)
  const topJ = new Int32Array(kc);
  const topS = new Float64Array(kc);
  const pick = new Int32Array(POOL_ATTRS);
  for (let i = 0; i < n; i++) {
    if (norm[i] === 0) continue;
    const attrs = ds.itemAttrs[i]!;
    for (const x of attrs) weight[x] = idf[x]!;
    // the most specific attributes (highest IDF) that still have other items
    let np = 0;
    for (const x of attrs) {
      if (df[x]! <= 1) continue;
      let q = np < POOL_ATTRS ? np++ : POOL_ATTRS;
      if (q === POOL_ATTRS) {
        if (!(idf[x]! > idf[pick[POOL_ATTRS - 1]!]!)) continue;
        q = POOL_ATTRS - 1;
      }
      pick[q] = x;
      for (; q > 0 && (idf[pick[q]!]! > idf[pick[q - 1]!]! || (idf[pick[q]!] === idf[pick[q - 1]!] && pick[q]! < pick[q - 1]!)); q--) [pick[q], pick[q - 1]] = [pick[q - 1]!, pick[q]!];
    }
    let nt = 0;
    seen[i] = i;
    for (let px = 0; px < np; px++) {
      const x = pick[px]!;
      const p = pools[x]!;
      for (let q = 0; q < poolLen[x]!; q++) {
        const j = p[q]!;
        if (seen[j] === i || norm[j] === 0) continue;
        seen[j] = i;
        let dot = 0;
        for (const y of ds.itemAttrs[j]!) dot += weight[y]! * idf[y]!;
        if (dot <= 0) continue;
        const sim = dot / (norm[i]! * norm[j]!);
        if (nt === kc && !ahead(sim, j, kc - 1, topS, topJ, count)) continue;
        let r = nt < kc ? nt++ : kc - 1;
        while (r > 0 && ahead(sim, j, r - 1, topS, topJ, count)) {
          topJ[r] = topJ[r - 1]!;
          topS[r] = topS[r - 1]!;
          r--;
        }
        topJ[r] = j;
        topS[r] = sim;
      }
    }
    for (const x of attrs) weight[x] = 0;
    for (let r = 0; r < nt; r++) {
      idx[i * kc + r] = topJ[r]!;
      w[i * kc + r] = topS[r]!;
    }
    if (progress && (i & 4095) === 4095) progress(i + 1, n);
  }
  progress?.(n, n);
  return { idx, w };
}

export function retrievalData(ds: Dataset, data: TrainSeqs, cfg: TrainConfig, opts: { contentNeighbours?: number; cooc?: Cooc; progress?: (phase: string, d: number, t: number) => void } = {}): RetrievalData {
  const n = ds.items.length;
  const k = Math.max(1, cfg.neighbours);
  // With a co-occurrence table at hand (small data, the evaluator), prune it; otherwise the
  // trainer's streaming path builds the lists row by row at any catalog size.
  let pr: { idx: Int32Array; w: Float32Array };
  let c: { count: Float64Array };
  if (opts.cooc) {
    c = opts.cooc;
    pr = pruneTopK(opts.cooc, blended(opts.cooc, cfg.shrink, cfg.seqWeight), k);
  } else {
    const nl = neighbourLists(n, data.seqs, { window: cfg.window, seqDecay: cfg.seqDecay, maxDistance: cfg.maxPairDistance, shrink: cfg.shrink, seqWeights: [cfg.seqWeight], k, progress: (d) => opts.progress?.('neighbours (co-occurrence + top-K)', d, n) });
    c = nl;
    pr = nl.lists[0]!;
  }
  const kc = opts.contentNeighbours ?? 10;
  const ct = contentNeighbours(ds, c.count, kc, (d, t) => opts.progress?.('content neighbours', d, t));
  const pop = popularity(c.count);
  const trend = trends(ds, data, c.count);
  const popular = topIndices(c.count, LIST_SIZES.popular);
  const trendScore = new Float64Array(n);
  for (let i = 0; i < n; i++) trendScore[i] = c.count[i]! >= 3 ? trend[i]! : 0;
  const trending = topIndices(trendScore, LIST_SIZES.trending);
  const byCat = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const cat = ds.items[i]!.category;
    if (!cat || c.count[i] === 0) continue;
    let l = byCat.get(cat);
    if (!l) byCat.set(cat, (l = []));
    l.push(i);
  }
  const categoryPopular: ModelLists['categoryPopular'] = {};
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const listed = (i: number) => ({ id: ds.itemIds[i]!, pop: r4(pop[i]!), trend: r4(trend[i]!), attrs: ds.itemAttrs[i]! });
  for (const [cat, l] of byCat) categoryPopular[cat] = topIndices(c.count, LIST_SIZES.categoryPopular, l).map(listed);
  const prices: number[] = [];
  for (const it of ds.items) if (it.price !== undefined) prices.push(it.price);
  prices.sort((x, y) => x - y);
  const priceCuts: number[] = [];
  for (let b = 1; b < 5; b++) if (prices.length) priceCuts.push(prices[Math.floor((b * prices.length) / 5)]!);
  const ctx = contextTables(ds, data);
  const lists: ModelLists = {
    attributes: ds.attributes,
    idf: Array.from(attributeIdf(ds), r4),
    popular: popular.map(listed),
    trending: trending.map(listed),
    categoryPopular,
    hour: ctx.hour,
    device: ctx.device,
    priceCuts,
  };
  return { n, k, nbrIdx: pr.idx, nbrW: pr.w, kc, ctIdx: ct.idx, ctW: ct.w, pop, trend, lists, count: c.count };
}

/** The float (unquantized) lists of `ids` straight from the retrieval data: learning and the float evaluation read these. */
export function floatLists(rd: RetrievalData, ds: Dataset, ids: string[]): Map<string, NeighbourEntry> {
  const m = new Map<string, NeighbourEntry>();
  for (const id of ids) {
    const i = ds.itemIndex.get(id);
    if (i !== undefined) m.set(id, entryOf(rd, ds, i));
  }
  return m;
}

/** Item i's lists as the shard format stores them (padding and self-references dropped). */
export function entryOf(rd: RetrievalData, ds: Dataset, i: number): NeighbourEntry {
  const collaborative: NeighbourEntry['collaborative'] = [];
  for (let x = 0; x < rd.k; x++) {
    const j = rd.nbrIdx[i * rd.k + x]!;
    const w = rd.nbrW[i * rd.k + x]!;
    if (w > 0 && j !== i) collaborative.push({ id: ds.itemIds[j]!, w, pop: rd.pop[j]!, trend: rd.trend[j]!, attrs: ds.itemAttrs[j]! });
  }
  const have = new Set(collaborative.map((c) => c.id));
  const content: NeighbourEntry['content'] = [];
  for (let x = 0; x < rd.kc; x++) {
    const j = rd.ctIdx[i * rd.kc + x]!;
    if (j < 0 || have.has(ds.itemIds[j]!)) continue;
    content.push({ id: ds.itemIds[j]!, w: rd.ctW[i * rd.kc + x]!, pop: rd.pop[j]!, trend: rd.trend[j]!, attrs: ds.itemAttrs[j]! });
  }
  return { id: ds.itemIds[i]!, attrs: ds.itemAttrs[i]!, collaborative, content };
}
