/** The pure Thompson-sampling pieces, with a seeded random source. */
import { describe, expect, it } from 'vitest';
import { allocation, chooseArm, posterior, sampleBeta, seededRng } from '../../worker/bandits/thompson';

describe('Beta-Bernoulli Thompson sampling', () => {
  it('Beta draws have the right mean: Beta(2, 8) has mean 2/10 = 0.2', () => {
    const rng = seededRng(1);
    let s = 0;
    for (let i = 0; i < 20_000; i++) s += sampleBeta(2, 8, rng);
    // sd of one draw = sqrt(ab/((a+b)²(a+b+1))) = sqrt(16/1100) = 0.1206; of the mean ≈ 0.00085
    expect(s / 20_000).toBeCloseTo(0.2, 2);
  });

  it('posterior is Beta(1 + clicks, 1 + impressions - clicks)', () => {
    expect(posterior({ trials: 10, successes: 3 })).toEqual({ alpha: 4, beta: 8 });
    expect(posterior(undefined)).toEqual({ alpha: 1, beta: 1 });
  });

  it('allocation follows P(arm is best) and respects the exploration floor', () => {
    const counts = { A: { trials: 1000, successes: 40 }, B: { trials: 1000, successes: 60 } };
    // P(B > A) ≈ Φ(0.02 / 0.00975) = Φ(2.05) ≈ 0.98; with 10% exploration: 0.9·0.98 + 0.05 ≈ 0.93
    const a = allocation(['A', 'B'], counts, 0.1, seededRng(2), 20_000);
    expect(a.B).toBeGreaterThan(0.9);
    expect(a.B).toBeLessThan(0.96);
    // B certain to win: A keeps exactly its exploration share, 0.2 / 2 = 0.1
    const sure = allocation(['A', 'B'], { A: { trials: 10_000, successes: 0 }, B: { trials: 10_000, successes: 5000 } }, 0.2, seededRng(3), 20_000);
    expect(sure.A).toBeGreaterThan(0.09);
    expect(sure.A).toBeLessThan(0.11);
    expect(chooseArm(['only'], {}, 0, seededRng(4))).toBe('only');
  });
});
