/** HR@k, NDCG@k, MRR@k under the shared protocol (docs/model.md, "Evaluation"). */
export const CUTOFF = 10;

export interface Metrics {
  users: number;
  hr: number;
  ndcg: number;
  mrr: number;
}

export class MetricAcc {
  users = 0;
  private h = 0;
  private n = 0;
  private m = 0;
  /** rank: 0-based position of the target in the top list, or -1 when absent */
  add(rank: number): void {
    this.users++;
    if (rank >= 0 && rank < CUTOFF) {
      this.h += 1;
      this.n += 1 / Math.log2(rank + 2);
      this.m += 1 / (rank + 1);
    }
  }
  get(): Metrics {
    const u = Math.max(1, this.users);
    return { users: this.users, hr: this.h / u, ndcg: this.n / u, mrr: this.m / u };
  }
}

export function fmt(m: Metrics): string {
  return `HR@10 ${m.hr.toFixed(4)}  NDCG@10 ${m.ndcg.toFixed(4)}  MRR@10 ${m.mrr.toFixed(4)}`;
}

/**
 * Top-k of a dense score vector, descending, ties by lower index, skipping items whose
 * `excluded[i] === stamp` (cheap per-user exclusion without clearing an array).
 */
export function topKDense(scores: Float32Array | Float64Array, k: number, excluded: Int32Array, stamp: number, out: Int32Array = new Int32Array(k)): Int32Array {
  const vals = new Float64Array(k).fill(-Infinity);
  out.fill(-1);
  let filled = 0;
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    if (excluded[i] === stamp) continue;
    const s = scores[i]!;
    if (filled === k && !(s > vals[k - 1]!)) continue;
    let pos = filled < k ? filled : k - 1;
    while (pos > 0 && vals[pos - 1]! < s) {
      vals[pos] = vals[pos - 1]!;
      out[pos] = out[pos - 1]!;
      pos--;
    }
    vals[pos] = s;
    out[pos] = i;
    if (filled < k) filled++;
  }
  return out;
}

/**
 * Top-k among the first m candidate indices of `cands` (any order), by score descending, ties by
 * lower index, skipping `excluded[i] === stamp`: what `topKDense` returns when every other item
 * is left out of the ranking.
 */
export function topKSparse(scores: Float32Array | Float64Array, cands: Int32Array, m: number, k: number, excluded: Int32Array, stamp: number, out: Int32Array = new Int32Array(k)): Int32Array {
  const vals = new Float64Array(k).fill(-Infinity);
  out.fill(-1);
  let filled = 0;
  for (let c = 0; c < m; c++) {
    const i = cands[c]!;
    if (excluded[i] === stamp) continue;
    const s = scores[i]!;
    if (filled === k && (s < vals[k - 1]! || (s === vals[k - 1]! && i > out[k - 1]!))) continue;
    let pos = filled < k ? filled : k - 1;
    while (pos > 0 && (vals[pos - 1]! < s || (vals[pos - 1]! === s && out[pos - 1]! > i))) {
      vals[pos] = vals[pos - 1]!;
      out[pos] = out[pos - 1]!;
      pos--;
    }
    vals[pos] = s;
    out[pos] = i;
    if (filled < k) filled++;
  }
  return out;
}
