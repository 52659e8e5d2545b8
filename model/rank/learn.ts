/**
 * Learns the rank weights from data. Each training example is the candidate set retrieval
 * produced for a user's history, the positive being the item the user actually chose next.
 * First a listwise softmax cross-entropy fit (Adam, full batch, L2), then coordinate ascent on
 * NDCG@10 itself (Metzler & Croft's linear feature-based ranker, as in RankLib), since the
 * likelihood fit alone over-weights signals that help deep in the list and not at its top.
 * Features are standardised while learning and the scale folded back into the weights, so the
 * exported weights apply to raw features (a constant shift does not change a ranking).
 */
import { F } from '../contract';

export interface Example {
  /** rows × F */
  features: Float32Array;
  rows: number;
  /** row of the positive */
  target: number;
}

export interface LearnOptions {
  epochs?: number;
  lr?: number;
  l2?: number;
  progress?: (done: number, total: number) => void;
}

export function learnWeights(examples: Example[], o: LearnOptions = {}): { weights: Float32Array; loss: number; sd: Float64Array } {
  const epochs = o.epochs ?? 100;
  const lr = o.lr ?? 0.05;
  const l2 = o.l2 ?? 1e-3;
  const mean = new Float64Array(F);
  const sq = new Float64Array(F);
  let rows = 0;
  for (const e of examples)
    for (let r = 0; r < e.rows; r++)
      for (let f = 0; f < F; f++) {
        const x = e.features[r * F + f]!;
        mean[f]! += x;
        sq[f]! += x * x;
      }
  for (const e of examples) rows += e.rows;
  const sd = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    mean[f] = mean[f]! / Math.max(1, rows);
    const v = sq[f]! / Math.max(1, rows) - mean[f]! * mean[f]!;
    // A (nearly) constant feature carries no information: weight 0, rather than a huge weight on noise.
    sd[f] = v > 1e-6 ? Math.sqrt(v) : 0;
  }
  const v = new Float64Array(F);
  const m1 = new Float64Array(F);
  const m2 = new Float64Array(F);
  const grad = new Float64Array(F);
  const z = new Float64Array(F);
  let loss = 0;
  let maxRows = 0;
  for (const e of examples) maxRows = Math.max(maxRows, e.rows);
  const s = new Float64Array(maxRows);
  for (let t = 1; t <= epochs; t++) {
    grad.fill(0);
    loss = 0;
    for (const e of examples) {
      let max = -Infinity;
      for (let r = 0; r < e.rows; r++) {
        let acc = 0;
        for (let f = 0; f < F; f++) if (sd[f]! > 0) acc += v[f]! * ((e.features[r * F + f]! - mean[f]!) / sd[f]!);
        s[r] = acc;
        if (acc > max) max = acc;
      }
      let den = 0;
      for (let r = 0; r < e.rows; r++) den += Math.exp(s[r]! - max);
      loss += Math.log(den) + max - s[e.target]!;
      // d loss / d v = Σ_r p_r z_r − z_target
      for (let r = 0; r < e.rows; r++) {
        const p = Math.exp(s[r]! - max) / den - (r === e.target ? 1 : 0);
        if (Math.abs(p) < 1e-9) continue;
        for (let f = 0; f < F; f++) if (sd[f]! > 0) grad[f]! += p * ((e.features[r * F + f]! - mean[f]!) / sd[f]!);
      }
    }
    const nE = Math.max(1, examples.length);
    for (let f = 0; f < F; f++) {
      z[f] = grad[f]! / nE + l2 * v[f]!;
      m1[f] = 0.9 * m1[f]! + 0.1 * z[f]!;
      m2[f] = 0.999 * m2[f]! + 0.001 * z[f]! * z[f]!;
      const mh = m1[f]! / (1 - 0.9 ** t);
      const vh = m2[f]! / (1 - 0.999 ** t);
      v[f] = v[f]! - (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
    loss /= nE;
    o.progress?.(t, epochs);
  }
  const weights = new Float32Array(F);
  for (let f = 0; f < F; f++) weights[f] = sd[f]! > 0 ? v[f]! / sd[f]! : 0;
  return { weights, loss, sd };
}

/** NDCG@10 of the positives under weights `w` (ties by the lower row, as ORT's TopK). */
export function ndcgAt10(examples: Example[], w: ArrayLike<number>): number {
  let sum = 0;
  for (const e of examples) {
    const st = score(e, e.target, w);
    let rank = 0;
    for (let r = 0; r < e.rows && rank < 10; r++) {
      const x = score(e, r, w);
      if (x > st || (x === st && r < e.target)) rank++;
    }
    if (rank < 10) sum += 1 / Math.log2(rank + 2);
  }
  return sum / Math.max(1, examples.length);
}

function score(e: Example, r: number, w: ArrayLike<number>): number {
  let a = 0;
  for (let f = 0; f < F; f++) a += w[f]! * e.features[r * F + f]!;
  return a;
}

/**
 * Coordinate ascent on NDCG@10 from `init`: each feature's weight in turn is moved by steps
 * proportional to 1/σ of that feature, keeping a move only when it improves the metric.
 */
export function coordinateAscent(examples: Example[], init: Float32Array, sd: ArrayLike<number>, o: { passes?: number; progress?: (d: number, t: number) => void } = {}): { weights: Float32Array; ndcg: number } {
  const w = Float64Array.from(init);
  // Per example, the current scores, updated incrementally as one weight moves.
  const scores = examples.map((e) => {
    const s = new Float64Array(e.rows);
    for (let r = 0; r < e.rows; r++) s[r] = score(e, r, w);
    return s;
  });
  const metric = (f: number, delta: number) => {
    let sum = 0;
    for (let x = 0; x < examples.length; x++) {
      const e = examples[x]!;
      const s = scores[x]!;
      const st = s[e.target]! + delta * e.features[e.target * F + f]!;
      let rank = 0;
      for (let r = 0; r < e.rows && rank < 10; r++) {
        const v = s[r]! + delta * e.features[r * F + f]!;
        if (v > st || (v === st && r < e.target)) rank++;
      }
      if (rank < 10) sum += 1 / Math.log2(rank + 2);
    }
    return sum / Math.max(1, examples.length);
  };
  let best = metric(0, 0);
  const passes = o.passes ?? 3;
  const steps = [2, -2, 0.5, -0.5, 0.1, -0.1, 0.02, -0.02];
  for (let p = 0; p < passes; p++) {
    let improved = false;
    for (let f = 0; f < F; f++) {
      if (!(sd[f]! > 0)) continue;
      let bestDelta = 0;
      for (const st of steps) {
        const delta = st / sd[f]!;
        const m = metric(f, delta);
        if (m > best + 1e-7) {
          best = m;
          bestDelta = delta;
        }
      }
      if (bestDelta !== 0) {
        improved = true;
        w[f] = w[f]! + bestDelta;
        for (let x = 0; x < examples.length; x++) {
          const e = examples[x]!;
          const s = scores[x]!;
          for (let r = 0; r < e.rows; r++) s[r] = s[r]! + bestDelta * e.features[r * F + f]!;
        }
      }
      o.progress?.(p * F + f + 1, passes * F);
    }
    if (!improved) break;
  }
  return { weights: Float32Array.from(w), ndcg: best };
}
