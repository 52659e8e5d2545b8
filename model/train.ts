/**
 * Training: sparse item-item neighbourhoods (cosine co-occurrence + sequential transitions,
 * pruned to top-K per item), attribute content model, popularity prior; hyperparameters tuned
 * on the validation step of a seeded user sample. See docs/model.md.
 */
import type { Dataset } from './dataset';
import { MetricAcc, type Metrics, topKDense } from './metrics';
import { blended, cooccurrence, type Cooc, pruneTopK } from './similarity';
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
};

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

function contentParts(ds: Dataset, cfg: TrainConfig): { t: number; itemAttrs: Int32Array; attrW: Float32Array; itemNormUnit: Float32Array } {
  const n = ds.items.length;
  const a = ds.attributes.length;
  const lists = ds.itemAttrs.map((l) => l.slice(0, cfg.maxItemAttrs));
  const t = Math.max(1, ...lists.map((l) => l.length));
  const df = new Float64Array(a);
  for (const l of lists) for (const x of l) df[x]!++;
  const attrW = new Float32Array(a + 1);
  for (let j = 0; j < a; j++) attrW[j] = cfg.idf ? Math.log(1 + n / (1 + df[j]!)) : 1;
  const itemAttrs = new Int32Array(n * t).fill(a);
  const itemNormUnit = new Float32Array(n);
  lists.forEach((l, i) => {
    let ss = 0;
    l.forEach((x, j) => {
      itemAttrs[i * t + j] = x;
      ss += attrW[x]! * attrW[x]!;
    });
    itemNormUnit[i] = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  });
  return { t, itemAttrs, attrW, itemNormUnit };
}

function popPrior(c: Cooc): Float32Array {
  let max = 0;
  for (const x of c.count) max = Math.max(max, x);
  const den = Math.log1p(max) || 1;
  return Float32Array.from(c.count, (x) => Math.log1p(x) / den);
}

/** Deterministic PRNG (mulberry32), the worker's own (worker/lib/rng.ts). */
export { rng };

export interface TuneResult {
  config: TrainConfig;
  validation: Metrics;
  tried: { config: Partial<TrainConfig>; ndcg: number; hr: number }[];
}

/**
 * Grid search on the validation step (train = all but the last two interactions,
 * target = the second to last) over a seeded sample of users. Two stages: neighbourhood
 * (seqWeight x historyDecay), then content/popularity blend (contentWeight x popWeight x idf).
 */
export function tune(ds: Dataset, seed: number, base: TrainConfig = DEFAULT_CONFIG, opts: { sample?: number; progress?: (done: number, total: number) => void } = {}): TuneResult {
  const n = ds.items.length;
  const r = rng(seed);
  const eligible: number[] = [];
  ds.seqs.forEach((s, u) => s.length >= 3 && eligible.push(u));
  // seeded partial Fisher-Yates sample
  // keep tuning cost roughly constant for large catalogs (each sampled user scans all N items per config)
  const sampleSize = Math.min(eligible.length, opts.sample ?? 8000, Math.max(500, Math.floor(1.2e8 / n)));
  for (let i = 0; i < sampleSize; i++) {
    const j = i + Math.floor(r() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  const users = eligible.slice(0, sampleSize).sort((a, b) => a - b);
  const train = ds.seqs.map((s) => s.subarray(0, Math.max(0, s.length - 2)));
  const strengths = ds.strengths.map((s) => s.subarray(0, Math.max(0, s.length - 2)));
  const c = cooccurrence(n, train, { window: base.window, seqDecay: base.seqDecay });
  const pop = popPrior(c);
  const seqWeights = [0, 1, 3, 6];
  const decays = [0.85, 0.7, 0.5, 0.3];
  const contentWeights = [0, 0.03, 0.1, 0.3];
  const popWeights = [0, 0.01, 0.03, 0.1];
  const idfs = [true, false];
  const total = seqWeights.length * decays.length + idfs.length * contentWeights.length * popWeights.length;
  let done = 0;
  const tried: TuneResult['tried'] = [];
  const buf = new Float32Array(n);
  const ex = new Int32Array(n).fill(-1);
  const top = new Int32Array(10);

  // stage 1: neighbourhood and recency, fixed small blend
  let best = { ...base };
  let bestM: Metrics | null = null;
  const cpBase = contentParts(ds, base);
  for (const sw of seqWeights) {
    const pr = pruneTopK(c, blended(c, base.shrink, sw), base.neighbours);
    for (const dec of decays) {
      const cfg = { ...base, seqWeight: sw, historyDecay: dec };
      const m = evalSample(users, train, strengths, ds, pr, base.neighbours, cfg, cpBase, pop, buf, ex, top);
      tried.push({ config: { seqWeight: sw, historyDecay: dec }, ndcg: m.ndcg, hr: m.hr });
      if (!bestM || m.ndcg > bestM.ndcg) {
        bestM = m;
        best = cfg;
      }
      opts.progress?.(++done, total);
    }
  }
  // stage 2: content and popularity blend
  const pr = pruneTopK(c, blended(c, best.shrink, best.seqWeight), best.neighbours);
  const s1 = best;
  for (const idf of idfs) {
    const cp = contentParts(ds, { ...s1, idf });
    for (const cw of contentWeights)
      for (const pw of popWeights) {
        const cfg = { ...s1, idf, contentWeight: cw, popWeight: pw };
        const m = evalSample(users, train, strengths, ds, pr, s1.neighbours, cfg, cp, pop, buf, ex, top);
        tried.push({ config: { idf, contentWeight: cw, popWeight: pw }, ndcg: m.ndcg, hr: m.hr });
        if (m.ndcg > bestM!.ndcg) {
          bestM = m;
          best = cfg;
        }
        opts.progress?.(++done, total);
      }
  }
  return { config: best, validation: bestM!, tried };
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
  buf: Float32Array,
  ex: Int32Array,
  top: Int32Array,
): Metrics {
  const acc = new MetricAcc();
  const n = ds.items.length;
  const a = ds.attributes.length;
  const prof = new Float64Array(a + 1);
  for (const u of users) {
    const hist = train[u]!;
    const target = ds.seqs[u]![hist.length]!;
    const h = historyOf(hist, strengths[u], cfg.historyDecay);
    let wsum = 0;
    for (const w of h.weights) wsum += w;
    buf.fill(0);
    prof.fill(0);
    for (let j = 0; j < h.items.length; j++) {
      const it = h.items[j]!;
      const wn = h.weights[j]! / (wsum + 1e-6);
      for (let x = 0; x < k; x++) buf[pr.idx[it * k + x]!]! += wn * pr.w[it * k + x]!;
      for (let x = 0; x < cp.t; x++) prof[cp.itemAttrs[it * cp.t + x]!]! += wn;
      ex[it] = u;
    }
    if (cfg.contentWeight > 0) {
      let ss = 0;
      for (let x = 0; x <= a; x++) {
        prof[x] = prof[x]! * cp.attrW[x]!;
        ss += prof[x]! * prof[x]!;
      }
      const norm = Math.sqrt(ss) + 1e-6;
      for (let x = 0; x <= a; x++) prof[x] = (prof[x]! * cp.attrW[x]!) / norm;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let x = 0; x < cp.t; x++) s += prof[cp.itemAttrs[i * cp.t + x]!]!;
        buf[i]! += s * cp.itemNormUnit[i]! * cfg.contentWeight;
      }
    }
    if (cfg.popWeight > 0) for (let i = 0; i < n; i++) buf[i]! += cfg.popWeight * pop[i]!;
    acc.add(topKDense(buf, 10, ex, u, top).indexOf(target));
  }
  return acc.get();
}
