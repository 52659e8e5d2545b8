/**
 * Item-item co-occurrence statistics from training sequences, in CSR form:
 *  - cooc[i][j]: users who interacted with both i and j
 *  - seq[i][j]:  forward transitions i -> j within `window` steps, weighted seqDecay^(d-1)
 * and the similarity rows derived from them (cosine with shrinkage).
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
  /** called with the number of items done */
  progress?: (done: number) => void;
}

export function cooccurrence(n: number, seqs: Int32Array[], opts: CoocOptions): Cooc {
  const count = new Float64Array(n);
  // item -> (user, position) occurrences
  const occStart = new Int32Array(n + 1);
  for (const s of seqs) for (const i of s) occStart[i + 1]!++;
  for (let i = 0; i < n; i++) occStart[i + 1]! += occStart[i]!;
  const occUser = new Int32Array(occStart[n]!);
  const occPos = new Int32Array(occStart[n]!);
  const fill = occStart.slice(0, n);
  seqs.forEach((s, u) => s.forEach((i, p) => {
    const o = fill[i]!++;
    occUser[o] = u;
    occPos[o] = p;
  }));
  for (let i = 0; i < n; i++) count[i] = occStart[i + 1]! - occStart[i]!;

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
  const decay: number[] = [];
  for (let d = 1; d <= opts.window; d++) decay[d] = opts.seqDecay ** (d - 1);
  for (let i = 0; i < n; i++) {
    let nt = 0;
    for (let o = occStart[i]!; o < occStart[i + 1]!; o++) {
      const s = seqs[occUser[o]!]!;
      const p = occPos[o]!;
      for (let q = 0; q < s.length; q++) {
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
        if (d > 0 && d <= opts.window) accS[j]! += decay[d]!;
      }
    }
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
    for (const j of t) {
      col[nnz] = j;
      co[nnz] = accC[j]!;
      sq[nnz] = accS[j]!;
      nnz++;
    }
    rowPtr[i + 1] = nnz;
    if (opts.progress && (i & 255) === 255) opts.progress(i + 1);
  }
  opts.progress?.(n);
  return { n, count, rowPtr, col: col.slice(0, nnz), cooc: co.slice(0, nnz), seq: sq.slice(0, nnz) };
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

/** Keeps each row's top-k by weight (ties by lower index); short rows are padded with (self, 0). */
export function pruneTopK(c: Cooc, w: Float32Array, k: number): { idx: Int32Array; w: Float32Array } {
  const idx = new Int32Array(c.n * k);
  const ww = new Float32Array(c.n * k);
  const order: number[] = [];
  for (let i = 0; i < c.n; i++) {
    order.length = 0;
    for (let o = c.rowPtr[i]!; o < c.rowPtr[i + 1]!; o++) if (w[o]! > 0) order.push(o);
    order.sort((a, b) => w[b]! - w[a]! || c.col[a]! - c.col[b]!);
    for (let j = 0; j < k; j++) {
      const o = order[j];
      if (o === undefined) {
        idx[i * k + j] = i;
        ww[i * k + j] = 0;
      } else {
        idx[i * k + j] = c.col[o]!;
        ww[i * k + j] = w[o]!;
      }
    }
  }
  return { idx, w: ww };
}
