/**
 * TypeScript reference forward pass of the graph in model/graph.ts, in float32 arithmetic.
 * Used for tuning (fast, no ORT) and in the parity test against onnxruntime-web.
 */
import { CONTEXT_DIM, MASKED_SCORE } from './contract';
import type { FloatParams } from './params';

export interface Request {
  histItems: ArrayLike<number>;
  histWeights: ArrayLike<number>;
  userAttrs?: Float32Array;
  context?: Float32Array;
  /** items to exclude (mask 0) */
  exclude?: ArrayLike<number>;
}

const f = Math.fround;

/** Dense score vector (before masking) for one request. `out` is overwritten. */
export function scoreAll(p: FloatParams, r: Request, out: Float32Array = new Float32Array(p.n)): Float32Array {
  const { n, a, k, t } = p;
  out.fill(0);
  let wsum = 0;
  for (let h = 0; h < r.histWeights.length; h++) wsum = f(wsum + r.histWeights[h]!);
  const denom = f(wsum + 1e-6);
  const prof = new Float32Array(a + 1);
  for (let h = 0; h < r.histItems.length; h++) {
    const wn = f(r.histWeights[h]! / denom);
    if (wn === 0) continue;
    const it = r.histItems[h]!;
    for (let j = 0; j < k; j++) {
      const o = it * k + j;
      out[p.nbrIdx[o]!] = f(out[p.nbrIdx[o]!]! + f(p.nbrW[o]! * wn));
    }
    for (let j = 0; j < t; j++) prof[p.itemAttrs[it * t + j]!] = f(prof[p.itemAttrs[it * t + j]!]! + wn);
  }
  if (r.userAttrs) for (let j = 0; j < a; j++) prof[j] = f(prof[j]! + r.userAttrs[j]!);
  let ss = 0;
  for (let j = 0; j <= a; j++) {
    prof[j] = f(prof[j]! * p.attrW[j]!);
    ss = f(ss + f(prof[j]! * prof[j]!));
  }
  const norm = f(f(Math.sqrt(ss)) + 1e-6);
  for (let j = 0; j <= a; j++) prof[j] = f(f(prof[j]! * p.attrW[j]!) / norm);
  const ctx = r.context ?? defaultContext();
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let j = 0; j < t; j++) c = f(c + prof[p.itemAttrs[i * t + j]!]!);
    let pr = 0;
    for (let d = 0; d < CONTEXT_DIM; d++) if (ctx[d]) pr = f(pr + f(ctx[d]! * p.ctxPop[d * n + i]!));
    out[i] = f(f(out[i]! + f(c * p.itemNorm[i]!)) + pr);
  }
  return out;
}

export function defaultContext(): Float32Array {
  const c = new Float32Array(CONTEXT_DIM);
  c[0] = 1;
  return c;
}

/**
 * Top-k indices of `scores` (descending, ties by lower index), skipping `exclude`.
 * Returns indices; the scores can be read from the vector.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ArrayLike<number>): number[] {
  const n = scores.length;
  const ex = exclude && exclude.length ? new Set(Array.from(exclude)) : null;
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = ex?.has(i) ? MASKED_SCORE : scores[i]!;
    if (idx.length === k && s <= val[k - 1]!) continue;
    // insert keeping (score desc, index asc); equal scores go after existing (lower index first)
    let pos = idx.length;
    while (pos > 0 && val[pos - 1]! < s) pos--;
    idx.splice(pos, 0, i);
    val.splice(pos, 0, s);
    if (idx.length > k) {
      idx.pop();
      val.pop();
    }
  }
  return idx;
}
