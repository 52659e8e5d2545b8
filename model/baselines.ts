/** Baselines computed by the evaluator itself: Pop (training counts) and ItemKNN (cosine, shrink 10, full rows). */
import { type Cooc, cosine } from './similarity';

/** Score vector of Pop: number of training users per item. */
export function popScores(c: Cooc): Float32Array {
  return Float32Array.from(c.count);
}

/** ItemKNN: score_j = Σ_{h in history} cos(h, j), with unpruned cosine rows. */
export class ItemKnn {
  readonly sim: Float32Array;
  constructor(
    readonly c: Cooc,
    shrink = 10,
  ) {
    this.sim = cosine(c, shrink);
  }
  scores(hist: ArrayLike<number>, out: Float32Array): Float32Array {
    out.fill(0);
    const { rowPtr, col } = this.c;
    for (let h = 0; h < hist.length; h++) {
      const i = hist[h]!;
      for (let o = rowPtr[i]!; o < rowPtr[i + 1]!; o++) out[col[o]!]! += this.sim[o]!;
    }
    return out;
  }
}
