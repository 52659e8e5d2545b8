/**
 * Item-item co-occurrence statistics from training sequences, in CSR form:
 *  - cooc[i][j]: users who interacted with both i and j
 *  - seq[i][j]:  forward transitions i -> j within `window` steps, weighted seqDecay^(d-1)
 * and the similarity rows derived from them (cosine with shrinkage).
 *
 * Two paths with identical results: `cooccurrence` keeps the whole CSR (needed by the evaluator's
 * unpruned ItemKNN; small data), `neighbourLists` computes one row at a time and keeps only its
 * top-K for one or several `seqWeight`s (the trainer's path: at 1M items the CSR would hold ~10^8
 * pairs). Both take `maxDistance`: co-occurrence pairs only within that many positions of a user's
 * history, which bounds the work per user at 2·maxDistance pairs per interaction (docs/model.md).
 */
export interface Cooc {
  n: number;
  /** users per item */
  count: Float64Array;
  rowPtr: Int32Array;
  col: Int32Array;
  cooc: Float32Array;
  seq: Float32Array;
}

export interface CoocOptions {
  window: number;
  seqDecay: number;
  /** co-occurrence pairs only between positions at most this far apart in a user's history (default: all pairs) */
  maxDistance?: number;
  /** called with the number of items done */
  progress?: (done: number) => void;
}

/** Item -> (user, position) occurrences, and users per item. */
function occurrences(n: number, seqs: Int32Array[]): { occStart: Int32Array; occUser: Int32Array; occPos: Int32Array; count: Float64Array } {
  const occStart = new Int32Array(n + 1);
  for (const s of seqs) for (let p = 0; p < s.length; p++) occStart[s[p]! + 1]!++;
  for (let i = 0; i < n; i++) occStart[i + 1]! += occStart[i]!;
  const occUser = new Int32Array(occStart[n]!);
  const occPos = new Int32Array(occStart[n]!);
  const fill = occStart.slice(0, n);
  for (let u = 0; u < seqs.length; u++) {
    const s = seqs[u]!;
    for (let p = 0; p < s.length; p++) {
      const o = fill[s[p]!]!++;
      occUser[o] = u;
      occPos[o] = p;
    }
  }
  const count = new Float64Array(n);
  for (let i = 0; i < n; i++) count[i] = occStart[i + 1]! - occStart[i]!;
  return { occStart, occUser, occPos, count };
}

/**
 * Accumulates row i (co-occurrence and forward-transition counts) into accC/accS for the touched
 * columns; returns how many columns were touched (listed in `touched`).
 */
function accumulateRow(
  i: number,
  occ: ReturnType<typeof occurrences>,
  seqs: Int32Array[],
  window: number,
  decay: Float64Array,
  maxDistance: number,
  mark: Int32Array,
  accC: Float32Array,
  accS: Float32Array,
  touched: Int32Array,
): number {
  let nt = 0;
  for (let o = occ.occStart[i]!; o < occ.occStart[i + 1]!; o++) {
    const s = seqs[occ.occUser[o]!]!;
    const p = occ.occPos[o]!;
    const q0 = Math.max(0, p - maxDistance);
    const q1 = Math.min(s.length - 1, p + maxDistance);
    for (let q = q0; q <= q1; q++) {
      if (q === p) continue;
      const j = s[q]!;
      if (j === i) continue;
      if (mark[j] !== i) {
        mark[j] = i;
        accC[j] = 0;
        accS[j] = 0;
        touched[nt++] = j;
      }
      accC[j]! += 1;
      const d = q - p;
      if (d > 0 && d <= window) accS[j]! += decay[d]!;
    }
  }
  return nt;
}

function decayTable(window: number, seqDecay: number): Float64Array {
  const decay = new Float64Array(window + 1);
  for (let d = 1; d <= window; d++) decay[d] = seqDecay ** (d - 1);
  return decay;
}

export function cooccurrence(n: number, seqs: Int32Array[], opts: CoocOptions): Cooc {
  const occ = occurrences(n, seqs);
  const accC = new Float32Array(n);
  const accS = new Float32Array(n);
  const mark = new Int32Array(n).fill(-1);
  const touched = new Int32Array(n);
  const rowPtr = new Int32Array(n + 1);
  let cap = 1 << 20;
  let col = new Int32Array(cap);
  let co = new Float32Array(cap);
  let sq = new Float32Array(cap);
  let nnz = 0;
  const decay = decayTable(opts.window, opts.seqDecay);
  const maxDistance = opts.maxDistance ?? Infinity;
  for (let i = 0; i < n; i++) {
    const nt = accumulateRow(i, occ, seqs, opts.window, decay, maxDistance, mark, accC, accS, touched);
    if (nnz + nt > cap) {
      while (nnz + nt > cap) cap *= 2;
      const c2 = new Int32Array(cap);
      c2.set(col.subarray(0, nnz));
      col = c2;
      const o2 = new Float32Array(cap);
      o2.set(co.subarray(0, nnz));
      co = o2;
      const s2 = new Float32Array(cap);
      s2.set(sq.subarray(0, nnz));
      sq = s2;
    }
    const t = touched.subarray(0, nt).sort();
    for (let x = 0; x < nt; x++) {
      const j = t[x]!;
      col[nnz] = j;
      co[nnz] = accC[j]!;
      sq[nnz] = accS[j]!;
      nnz++;
    }
    rowPtr[i + 1] = nnz;
    if (opts.progress && (i & 255) === 255) opts.progress(i + 1);
  }
  opts.progress?.(n);
  return { n, count: occ.count, rowPtr, col: col.slice(0, nnz), cooc: co.slice(0, nnz), seq: sq.slice(0, nnz) };
}

/** Cosine similarity with shrinkage: cooc / (sqrt(n_i n_j) + shrink), CSR aligned with c.col. */
export function cosine(c: Cooc, shrink: number): Float32Array {
  const out = new Float32Array(c.col.length);
  for (let i = 0; i < c.n; i++) {
    const ni = Math.sqrt(c.count[i]!);
    for (let o = c.rowPtr[i]!; o < c.rowPtr[i + 1]!; o++) out[o] = c.cooc[o]! / (ni * Math.sqrt(c.count[c.col[o]!]!) + shrink);
  }
  return out;
}

/** Blended similarity: cosine + seqWeight * transitions / (sqrt(n_i n_j) + shrink). */
export function blended(c: Cooc, shrink: number, seqWeight: number): Float32Array {
  const out = new Float32Array(c.col.length);
  for (let i = 0; i < c.n; i++) {
    const ni = Math.sqrt(c.count[i]!);
    for (let o = c.rowPtr[i]!; o < c.rowPtr[i + 1]!; o++) {
      const den = ni * Math.sqrt(c.count[c.col[o]!]!) + shrink;
      out[o] = (c.cooc[o]! + seqWeight * c.seq[o]!) / den;
    }
  }
  return out;
}

/**
 * Top-k of one row, best first: weight descending, ties by lower column; only weights > 0;
 * short rows are padded with (self, 0). Insertion into a k-slot sorted buffer.
 */
class RowTopK {
  private readonly w: Float32Array;
  private readonly j: Int32Array;
  private m = 0;
  constructor(readonly k: number) {
    this.w = new Float32Array(k);
    this.j = new Int32Array(k);
  }
  reset(): void {
    this.m = 0;
  }
  /** w must already be a float32 value (Math.fround) */
  offer(col: number, w: number): void {
    if (!(w > 0)) return;
    const k = this.k;
    if (this.m === k) {
      const lw = this.w[k - 1]!;
      if (w < lw || (w === lw && col > this.j[k - 1]!)) return;
    }
    let p = this.m < k ? this.m++ : k - 1;
    while (p > 0) {
      const pw = this.w[p - 1]!;
      if (pw > w || (pw === w && this.j[p - 1]! < col)) break;
      this.w[p] = pw;
      this.j[p] = this.j[p - 1]!;
      p--;
    }
    this.w[p] = w;
    this.j[p] = col;
  }
  write(row: number, idx: Int32Array, ww: Float32Array): void {
    const k = this.k;
    for (let x = 0; x < k; x++) {
      if (x < this.m) {
        idx[row * k + x] = this.j[x]!;
        ww[row * k + x] = this.w[x]!;
      } else {
        idx[row * k + x] = row;
        ww[row * k + x] = 0;
      }
    }
  }
}

/** Keeps each row's top-k by weight (ties by lower index); short rows are padded with (self, 0). */
export function pruneTopK(c: Cooc, w: Float32Array, k: number, progress?: (done: number, total: number) => void): { idx: Int32Array; w: Float32Array } {
  const idx = new Int32Array(c.n * k);
  const ww = new Float32Array(c.n * k);
  const top = new RowTopK(k);
  for (let i = 0; i < c.n; i++) {
    top.reset();
    for (let o = c.rowPtr[i]!; o < c.rowPtr[i + 1]!; o++) top.offer(c.col[o]!, w[o]!);
    top.write(i, idx, ww);
    if (progress && (i & 4095) === 4095) progress(i + 1, c.n);
  }
  progress?.(c.n, c.n);
  return { idx, w: ww };
}

export interface NeighbourOptions extends CoocOptions {
  /** cosine shrinkage */
  shrink: number;
  /** one pruned list per transition weight (`blended`'s seqWeight) */
  seqWeights: number[];
  /** neighbours kept per item */
  k: number;
}

export interface NeighbourLists {
  n: number;
  /** users per item (as Cooc.count) */
  count: Float64Array;
  /** per seqWeight: pruneTopK(c, blended(c, shrink, seqWeight), k), [n*k] */
  lists: { idx: Int32Array; w: Float32Array }[];
}

/**
 * Streaming co-occurrence + pruning: the same lists as `pruneTopK(cooccurrence(…), blended(…), k)`
 * for each of `seqWeights`, computed row by row without the CSR. Memory: the occurrence index
 * (2 ints per interaction), four n-sized work arrays, and the n·k output lists.
 */
export function neighbourLists(n: number, seqs: Int32Array[], opts: NeighbourOptions): NeighbourLists {
  const occ = occurrences(n, seqs);
  const accC = new Float32Array(n);
  const accS = new Float32Array(n);
  const mark = new Int32Array(n).fill(-1);
  const touched = new Int32Array(n);
  const decay = decayTable(opts.window, opts.seqDecay);
  const maxDistance = opts.maxDistance ?? Infinity;
  const k = opts.k;
  const sws = opts.seqWeights;
  const lists = sws.map(() => ({ idx: new Int32Array(n * k), w: new Float32Array(n * k) }));
  const tops = sws.map(() => new RowTopK(k));
  const sqrtCount = Float64Array.from(occ.count, Math.sqrt);
  for (let i = 0; i < n; i++) {
    const nt = accumulateRow(i, occ, seqs, opts.window, decay, maxDistance, mark, accC, accS, touched);
    const ni = sqrtCount[i]!;
    for (let s = 0; s < sws.length; s++) {
      const top = tops[s]!;
      const sw = sws[s]!;
      top.reset();
      for (let x = 0; x < nt; x++) {
        const j = touched[x]!;
        const den = ni * sqrtCount[j]! + opts.shrink;
        top.offer(j, Math.fround((accC[j]! + sw * accS[j]!) / den));
      }
      top.write(i, lists[s]!.idx, lists[s]!.w);
    }
    if (opts.progress && (i & 4095) === 4095) opts.progress(i + 1);
  }
  opts.progress?.(n);
  return { n, count: occ.count, lists };
}

/** A Cooc holding only the per-item user counts (empty rows), for callers that need `count`. */
export function countsOnly(n: number, count: Float64Array): Cooc {
  return { n, count, rowPtr: new Int32Array(n + 1), col: new Int32Array(0), cooc: new Float32Array(0), seq: new Float32Array(0) };
}
