/**
 * Thompson sampling over Beta-Bernoulli arms, with a minimum exploration share. Pure: the
 * random source is injected so the simulation can seed it; the worker passes Math.random.
 */
import type { Rng } from '../lib/rng';

export { seededRng, type Rng } from '../lib/rng';

export interface ArmCounts {
  /** attributed impressions (Bernoulli trials) */
  trials: number;
  /** attributed clicks or conversions */
  successes: number;
}

/** Standard normal draw (Box-Muller). */
function gaussian(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 via the boost Gamma(a+1)·U^(1/a)). */
export function sampleGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = gaussian(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) draw as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  const y = sampleGamma(b, rng);
  return x / (x + y);
}

/** Posterior Beta(1 + successes, 1 + failures) under a uniform prior. */
export function posterior(c: ArmCounts | undefined): { alpha: number; beta: number } {
  const s = Math.max(0, c?.successes ?? 0);
  const t = Math.max(s, c?.trials ?? 0);
  return { alpha: 1 + s, beta: 1 + t - s };
}

/**
 * Pick an arm: with probability `minExploration` uniformly at random (so every arm keeps at
 * least minExploration/K of the traffic), otherwise the arm with the largest posterior draw.
 */
export function chooseArm(arms: string[], counts: Record<string, ArmCounts | undefined>, minExploration: number, rng: Rng): string {
  if (arms.length === 0) throw new Error('no arms');
  if (rng() < minExploration) return arms[Math.min(arms.length - 1, Math.floor(rng() * arms.length))]!;
  let best = arms[0]!;
  let bestDraw = -1;
  for (const arm of arms) {
    const { alpha, beta } = posterior(counts[arm]);
    const draw = sampleBeta(alpha, beta, rng);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = arm;
    }
  }
  return best;
}

/**
 * Share of traffic each arm would get from the current posteriors (Monte Carlo over `draws`
 * Thompson draws, exploration included) — what the dashboard shows as "allocation".
 */
export function allocation(arms: string[], counts: Record<string, ArmCounts | undefined>, minExploration: number, rng: Rng, draws = 2000): Record<string, number> {
  const hits: Record<string, number> = Object.fromEntries(arms.map((a) => [a, 0]));
  for (let i = 0; i < draws; i++) hits[chooseArm(arms, counts, minExploration, rng)]! += 1;
  return Object.fromEntries(arms.map((a) => [a, hits[a]! / draws]));
}
