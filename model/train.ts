/**
 * Training: sparse item-item neighbourhoods (cosine co-occurrence + sequential transitions,
 * pruned to top-K per item), attribute content model, popularity prior; hyperparameters tuned
 * on the validation step of a seeded user sample. See docs/model.md.
 */
import type { Dataset } from './dataset';
import { MetricAcc, type Metrics, topKDense, topKSparse } from './metrics';
import { blended, type Cooc, countsOnly, neighbourLists, pruneTopK } from './similarity';
import { seededRng as rng } from '../worker/lib/rng';

export interface TrainConfig {
  /** neighbours kept per item */
  neighbours: number;
  /** cosine shrinkage */
  shrink: number;
  /** forward window for sequential transitions */
  window: number;
  /** per-step decay of transitions inside the window */
  seqDecay: number;
  /** weight of sequential transitions relative to co-occurrence */
  seqWeight: number;
  /** recency decay of history weights (most recent item weight 1, then decay^pos) */
  historyDecay: number;
  /** blend weight of the content (attribute cosine) score */
  contentWeight: number;
  /** weight of the log-popularity prior */
  popWeight: number;
  /** IDF-weighted attributes in the content model */
  idf: boolean;
  /** max attributes per item in the graph */
  maxItemAttrs: number;
  /**
   * Co-occurrence pairs only between interactions at most this many positions apart in a user's
   * history: bounds the work per interaction (2·maxPairDistance pairs) for very long histories
   * (bots, heavy shoppers). 1000 leaves every Beauty (≤ 204) and ML-100K (≤ 737) history whole.
   */
  maxPairDistance: number;
}

export const DEFAULT_CONFIG: TrainConfig = {
  neighbours: 20,
  shrink: 10,
  window: 3,
  seqDecay: 0.5,
  seqWeight: 3,
  historyDecay: 0.7,
  contentWeight: 0.1,
  popWeight: 0.03,
  idf: true,
  maxItemAttrs: 16,
  maxPairDistance: 1000,
};

/** Above this many items `tune` scores only sparse candidates (see `tune`). */
export const DENSE_TUNE_MAX_ITEMS = 100_000;
/** Most popular items added to every user's candidates in sparse tuning. */
export const TUNE_POPULAR_CANDIDATES = 200;

/** A progress bar factory (model/progress.ts `bar`). */
export type BarFactory = (label: string, total: number) => { update(done: number, total?: number): void; stop(): void };

export interface TrainData {
  seqs: Int32Array[];
  strengths: Float32Array[];
}

/** History input for one user: most recent first, weight = decay^pos * strength / 5. */
export function historyOf(seq: ArrayLike<number>, strengths: ArrayLike<number> | undefined, decay: number, maxLen = 200): { items: number[]; weights: number[] } {
  const items: number[] = [];
  const weights: number[] = [];
  let w = 1;
  for (let p = seq.length - 1; p >= 0 && items.length < maxLen; p--) {
    items.push(seq[p]!);
    weights.push(Math.fround(w * ((strengths?.[p] ?? 5) / 5)));
    w *= decay;
  }
  return { items, weights };
}

/** Content part: attribute slots [N*T] (first maxItemAttrs of each item, padded with A), IDF weights, unit norms. Plain loops (no spread). */
function contentParts(ds: Dataset, cfg: TrainConfig): { t: number; itemAttrs: Int32Array; attrW: Float32Array; itemNormUnit: Float32Array } {
  const n = ds.items.length;
  const a = ds.attributes.length;
  const cap = cfg.maxItemAttrs;
  let t = 1;
  for (let i = 0; i < n; i++) t = Math.max(t, Math.min(cap, ds.itemAttrs[i]!.length));
  const df = new Float64Array(a);
  for (let i = 0; i < n; i++) {
    const l = ds.itemAttrs[i]!;
    for (let j = 0; j < l.length && j < cap; j++) df[l[j]!]!++;
  }
  const attrW = new Float32Array(a + 1);
  for (let j = 0; j < a; j++) attrW[j] = cfg.idf ? Math.log(1 + n / (1 + df[j]!)) : 1;
  const itemAttrs = new Int32Array(n * t).fill(a);
  const itemNormUnit = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const l = ds.itemAttrs[i]!;
    let ss = 0;
    for (let j = 0; j < l.length && j < cap; j++) {
      const x = l[j]!;
      itemAttrs[i * t + j] = x;
      ss += attrW[x]! * attrW[x]!;
    }
    itemNormUnit[i] = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  }
  return { t, itemAttrs, attrW, itemNormUnit };
}

function popPrior(count: Float64Array): Float32Array {
  let max = 0;
  for (let i = 0; i < count.length; i++) if (count[i]! > max) max = count[i]!;
  const den = Math.log1p(max) || 1;
  return Float32Array.from(count, (x) => Math.log1p(x) / den);
}

/** Deterministic PRNG (mulberry32), the worker's own (worker/lib/rng.ts). */
export { rng };

export interface TuneResult {
  config: TrainConfig;
  validation: Metrics;
  tried: { config: Partial<TrainConfig>; ndcg: number; hr: number }[];
  /** how the sample was scored (see `tune`) */
  scoring?: 'dense' | 'candidates';
  sampleUsers?: number;
}

/**
 * Grid search on the validation step (train = all but the last two interactions,
 * target = the second to last) over a seeded sample of users. Two stages: neighbourhood
 * (seqWeight x historyDecay), then content/popularity blend (contentWeight x popWeight x idf).
 * The user's whole training history is masked, as in the evaluator.
 *
 * Scoring: up to DENSE_TUNE_MAX_ITEMS items every sampled user is scored over the whole catalog
 * (`dense`; sample ≤ 1.2e8/N users to bound the work). Above it (`candidates`), only the items the
 * history's neighbour lists reach plus the TUNE_POPULAR_CANDIDATES most popular ones are scored:
 * the same scores for those items, the rest of the catalog is not ranked. The work per user is then
 * O(history · K + candidates · T) whatever N, so the full sample (8000) is kept.
 */
export function tune(
  ds: Dataset,
  seed: number,
  base: TrainConfig = DEFAULT_CONFIG,
  opts: { sample?: number; progress?: (done: number, total: number) => void; bar?: BarFactory; scoring?: 'dense' | 'candidates' } = {},
): TuneResult {
  const n = ds.items.length;
  const r = rng(seed);
  const scoring = opts.scoring ?? (n > DENSE_TUNE_MAX_ITEMS ? 'candidates' : 'dense');
  const eligible: number[] = [];
  for (let u = 0; u < ds.seqs.length; u++) if (ds.seqs[u]!.length >= 3) eligible.push(u);
  // seeded partial Fisher-Yates sample
  // dense: keep tuning cost roughly constant for large catalogs (each sampled user scans all N items per config)
  const sampleSize = Math.min(eligible.length, opts.sample ?? 8000, scoring === 'dense' ? Math.max(500, Math.floor(1.2e8 / n)) : Infinity);
  for (let i = 0; i < sampleSize; i++) {
    const j = i + Math.floor(r() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  const users = eligible.slice(0, sampleSize).sort((a, b) => a - b);
  const train = ds.seqs.map((s) => s.subarray(0, Math.max(0, s.length - 2)));
  const strengths = ds.strengths.map((s) => s.subarray(0, Math.max(0, s.length - 2)));
  const seqWeights = [0, 1, 3, 6];
  const decays = [0.85, 0.7, 0.5, 0.3];
  const contentWeights = [0, 0.03, 0.1, 0.3];
  const popWeights = [0, 0.01, 0.03, 0.1];
  const idfs = [true, false];
  // one streaming pass gives the pruned lists of every seqWeight of the grid
  const nb = opts.bar?.('tuning: neighbours', n);
  const nl = neighbourLists(n, train, {
    window: base.window,
    seqDecay: base.seqDecay,
    maxDistance: base.maxPairDistance,
    shrink: base.shrink,
    seqWeights,
    k: base.neighbours,
    progress: (d) => nb?.update(d),
  });
  nb?.stop();
  const pop = popPrior(nl.count);
  const popular = scoring === 'candidates' ? topPopular(pop, TUNE_POPULAR_CANDIDATES) : new Int32Array(0);
  const total = seqWeights.length * decays.length + idfs.length * contentWeights.length * popWeights.length;
  let done = 0;
  const gb = opts.bar?.(`tuning: grid (${scoring}, ${users.length} users)`, total);
  const step = () => {
    done++;
    opts.progress?.(done, total);
    gb?.update(done);
  };
  const tried: TuneResult['tried'] = [];
  const ws: Workspace = { buf: new Float32Array(n), ex: new Int32Array(n).fill(-1), top: new Int32Array(10), cand: new Int32Array(n).fill(-1), list: new Int32Array(0), scoring, popular };

  // stage 1: neighbourhood and recency, fixed small blend
  let best = { ...base };
  let bestM: Metrics | null = null;
  const cpBase = contentParts(ds, base);
  for (let si = 0; si < seqWeights.length; si++) {
    const sw = seqWeights[si]!;
    const pr = nl.lists[si]!;
    for (const dec of decays) {
      const cfg = { ...base, seqWeight: sw, historyDecay: dec };
      const m = evalSample(users, train, strengths, ds, pr, base.neighbours, cfg, cpBase, pop, ws);
      tried.push({ config: { seqWeight: sw, historyDecay: dec }, ndcg: m.ndcg, hr: m.hr });
      if (!bestM || m.ndcg > bestM.ndcg) {
        bestM = m;
        best = cfg;
      }
      step();
    }
  }
  // stage 2: content and popularity blend
  const pr = nl.lists[seqWeights.indexOf(best.seqWeight)]!;
  const s1 = best;
  for (const idf of idfs) {
    const cp = contentParts(ds, { ...s1, idf });
    for (const cw of contentWeights)
      for (const pw of popWeights) {
        const cfg = { ...s1, idf, contentWeight: cw, popWeight: pw };
        const m = evalSample(users, train, strengths, ds, pr, s1.neighbours, cfg, cp, pop, ws);
        tried.push({ config: { idf, contentWeight: cw, popWeight: pw }, ndcg: m.ndcg, hr: m.hr });
        if (m.ndcg > bestM!.ndcg) {
          bestM = m;
          best = cfg;
        }
        step();
      }
  }
  gb?.stop();
  return { config: best, validation: bestM!, tried, scoring, sampleUsers: users.length };
}

/** Indices of the m largest values (ties by lower index), best first. */
function topPopular(pop: Float32Array, m: number): Int32Array {
  const ex = new Int32Array(pop.length).fill(-1);
  return topKDense(pop, Math.min(m, pop.length), ex, 0).filter((i) => i >= 0);
}

interface Workspace {
  buf: Float32Array;
  ex: Int32Array;
  top: Int32Array;
  /** candidate stamp per item (user index) and the candidate list (sparse scoring) */
  cand: Int32Array;
  list: Int32Array;
  scoring: 'dense' | 'candidates';
  popular: Int32Array;
}

function evalSample(
  users: number[],
  train: Int32Array[],
  strengths: Float32Array[],
  ds: Dataset,
  pr: { idx: Int32Array; w: Float32Array },
  k: number,
  cfg: TrainConfig,
  cp: ReturnType<typeof contentParts>,
  pop: Float32Array,
  ws: Workspace,
): Metrics {
  const acc = new MetricAcc();
  const n = ds.items.length;
  const a = ds.attributes.length;
  const prof = new Float64Array(a + 1);
  const { buf, ex, top, cand } = ws;
  const dense = ws.scoring === 'dense';
  for (const u of users) {
    const hist = train[u]!;
    const target = ds.seqs[u]![hist.length]!;
    const h = historyOf(hist, strengths[u], cfg.historyDecay);
    let wsum = 0;
    for (const w of h.weights) wsum += w;
    let m = 0;
    if (dense) buf.fill(0);
    else {
      const need = h.items.length * k + ws.popular.length;
      if (ws.list.length < need) ws.list = new Int32Array(Math.max(need, 2 * ws.list.length));
    }
    const list = ws.list;
    prof.fill(0);
    for (let j = 0; j < h.items.length; j++) {
      const it = h.items[j]!;
      const wn = h.weights[j]! / (wsum + 1e-6);
      if (dense) for (let x = 0; x < k; x++) buf[pr.idx[it * k + x]!]! += wn * pr.w[it * k + x]!;
      else
        for (let x = 0; x < k; x++) {
          const c = pr.idx[it * k + x]!;
          if (cand[c] !== u) {
            cand[c] = u;
            buf[c] = 0;
            list[m++] = c;
          }
          buf[c]! += wn * pr.w[it * k + x]!;
        }
      for (let x = 0; x < cp.t; x++) prof[cp.itemAttrs[it * cp.t + x]!]! += wn;
    }
    // the whole training history is excluded, however long (historyOf keeps the 200 most recent)
    for (let j = 0; j < hist.length; j++) ex[hist[j]!] = u;
    if (!dense)
      for (const c of ws.popular)
        if (cand[c] !== u) {
          cand[c] = u;
          buf[c] = 0;
          list[m++] = c;
        }
    if (cfg.contentWeight > 0) {
      let ss = 0;
      for (let x = 0; x <= a; x++) {
        prof[x] = prof[x]! * cp.attrW[x]!;
        ss += prof[x]! * prof[x]!;
      }
      const norm = Math.sqrt(ss) + 1e-6;
      for (let x = 0; x <= a; x++) prof[x] = (prof[x]! * cp.attrW[x]!) / norm;
      const end = dense ? n : m;
      for (let y = 0; y < end; y++) {
        const i = dense ? y : list[y]!;
        let s = 0;
        for (let x = 0; x < cp.t; x++) s += prof[cp.itemAttrs[i * cp.t + x]!]!;
        buf[i]! += s * cp.itemNormUnit[i]! * cfg.contentWeight;
      }
    }
    if (cfg.popWeight > 0) {
      if (dense) for (let i = 0; i < n; i++) buf[i]! += cfg.popWeight * pop[i]!;
      else for (let y = 0; y < m; y++) buf[list[y]!]! += cfg.popWeight * pop[list[y]!]!;
    }
    const t = dense ? topKDense(buf, 10, ex, u, top) : topKSparse(buf, list, m, 10, ex, u, top);
    acc.add(t.indexOf(target));
  }
  return acc.get();
}
