/**
 * The experiment statistics against values computed by hand (the arithmetic is in the
 * comments; it was cross-checked with Python's statistics.NormalDist). Pure functions: they run
 * in Node with the model tests (vitest.model.config.ts), without a workerd per file.
 */
import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  meanInterval,
  msprt,
  normalCdf,
  normalQuantile,
  proportionInterval,
  powerAt,
  proportionUplift,
  sampleRatioMismatch,
  sampleSizePerArm,
  twoProportionZTest,
} from '../../worker/experiments/stats';

describe('normal distribution', () => {
  it('Φ(1.96) = 0.975002 and Φ⁻¹(0.975) = 1.959964, Φ⁻¹(0.001) = -3.090232', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 6);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });
});

describe('intervals', () => {
  it('Wilson interval for 40 clicks in 1,000 impressions', () => {
    // p = 0.04, z = 1.96, z² = 3.8416, denom = 1 + z²/n = 1.0038416
    // centre = (0.04 + 3.8416/2000) / 1.0038416 = 0.0419208 / 1.0038416 = 0.0417604
    // half = 1.96·sqrt(0.04·0.96/1000 + 3.8416/(4·1000²)) / 1.0038416
    //      = 1.96·sqrt(0.0000384 + 0.00000096) / 1.0038416 = 1.96·0.0062738 / 1.0038416 = 0.0122496
    // => [0.0295108, 0.0540100]
    const i = proportionInterval(40, 1000, 1.96);
    expect(i.estimate).toBe(0.04);
    expect(i.low).toBeCloseTo(0.0295108, 6);
    expect(i.high).toBeCloseTo(0.05401, 6);
  });

  it('an empty variant has a zero interval, not NaN', () => {
    expect(proportionInterval(0, 0)).toEqual({ estimate: 0, low: 0, high: 0 });
  });

  it('revenue per visitor: mean ± z·s/√n from sufficient statistics', () => {
    // values 0, 0, 10, 30: n = 4, Σx = 40, Σx² = 1000, mean = 10
    // s² = (1000 - 4·10²) / 3 = 200, s/√n = sqrt(200/4) = 7.0711, 1.96·7.0711 = 13.8593
    // => [-3.8593, 23.8593]
    const i = meanInterval(4, 40, 1000, 1.96);
    expect(i.estimate).toBe(10);
    expect(i.low).toBeCloseTo(-3.85929, 4);
    expect(i.high).toBeCloseTo(23.85929, 4);
  });

  it('uplift of 6% over 4% with the unpooled standard error', () => {
    // diff = 0.06 - 0.04 = 0.02; se = sqrt(0.04·0.96/1000 + 0.06·0.94/1000) = sqrt(0.0000948) = 0.0097365
    // 1.96·se = 0.0190836 => [0.0009164, 0.0390836]; relative = 0.02/0.04 = 0.5, interval / 0.04 => [0.02291, 0.97709]
    const u = proportionUplift(40, 1000, 60, 1000, 1.96);
    expect(u.absolute.estimate).toBeCloseTo(0.02, 10);
    expect(u.absolute.low).toBeCloseTo(0.0009164, 6);
    expect(u.absolute.high).toBeCloseTo(0.0390836, 6);
    expect(u.relative!.estimate).toBeCloseTo(0.5, 10);
    expect(u.relative!.low).toBeCloseTo(0.02291, 4);
    expect(u.relative!.high).toBeCloseTo(0.97709, 4);
  });
});

describe('tests', () => {
  it('two-proportion z-test: 40/1000 vs 60/1000', () => {
    // pooled p̂ = 100/2000 = 0.05; se = sqrt(0.05·0.95·(1/1000 + 1/1000)) = sqrt(0.000095) = 0.0097468
    // z = 0.02 / 0.0097468 = 2.05196; p = 2·(1 - Φ(2.05196)) = 0.040174
    const t = twoProportionZTest(40, 1000, 60, 1000);
    expect(t.z).toBeCloseTo(2.05196, 4);
    expect(t.p).toBeCloseTo(0.040174, 5);
  });

  it('mSPRT: the same data is far from significant for an always-valid test', () => {
    // V = 0.0000948 (as above), τ = 0.01 so τ² = 0.0001, V + τ² = 0.0001948
    // sqrt(V/(V+τ²)) = sqrt(0.486653) = 0.697605
    // exponent = θ̂²τ² / (2V(V+τ²)) = 0.0004·0.0001 / (2·0.0000948·0.0001948) = 4e-8 / 3.693408e-8 = 1.083012
    // Λ = 0.697605·e^1.083012 = 0.697605·2.953650 = 2.06042; p = 1/Λ = 0.48534
    const s = msprt(40, 1000, 60, 1000, 0.01);
    expect(s.lambda).toBeCloseTo(2.06042, 4);
    expect(s.p).toBeCloseTo(0.48534, 4);
  });

  it('mSPRT rejects once the evidence is strong (Λ ≥ 1/α)', () => {
    // 400/10000 vs 600/10000: V = 0.00000948, θ̂ = 0.02, τ² = 0.0001
    // sqrt(V/(V+τ²)) = sqrt(0.00000948/0.00010948) = 0.294268
    // exponent = 0.0004·0.0001 / (2·0.00000948·0.00010948) = 4e-8 / 2.0757e-9 = 19.2705; Λ = 0.294268·e^19.2705 ≈ 6.9e7
    const s = msprt(400, 10_000, 600, 10_000, 0.01);
    expect(s.lambda).toBeGreaterThan(1 / 0.05);
    expect(Math.log(s.lambda)).toBeCloseTo(Math.log(0.294268) + 19.2705, 2);
    expect(s.p).toBeLessThan(1e-6);
  });

  it('sample size per arm for 4% -> 6% at α = 0.05, power 0.8', () => {
    // z_{0.975} = 1.959964, z_{0.8} = 0.841621, p̄ = 0.05
    // n = (1.959964·sqrt(2·0.05·0.95) + 0.841621·sqrt(0.04·0.96 + 0.06·0.94))² / 0.02²
    //   = (1.959964·0.308221 + 0.841621·0.307896)² / 0.0004 = (0.604102 + 0.259132)² / 0.0004
    //   = 0.863234² / 0.0004 = 0.745173 / 0.0004 = 1862.93 -> 1863
    expect(sampleSizePerArm(0.04, 0.06)).toBe(1863);
  });

  it('power at n per arm inverts the sample size', () => {
    // n = 1863: (0.02·sqrt(1863) - 1.959964·0.308221) / 0.307896 = (0.863250 - 0.604102) / 0.307896 = 0.841674
    // Φ(0.841674) = 0.80001
    expect(powerAt(1863, 0.04, 0.06)).toBeCloseTo(0.80001, 4);
    // n = 1000: (0.632456 - 0.604102) / 0.307896 = 0.092090; Φ(0.092090) = 0.53669
    expect(powerAt(1000, 0.04, 0.06)).toBeCloseTo(0.53669, 4);
  });
});

describe('sample ratio mismatch', () => {
  it('χ² with one degree of freedom: 5100 vs 4900 on a 50/50 split is fine', () => {
    // expected 5000 each; χ² = 100²/5000 + 100²/5000 = 4; P(χ²₁ ≥ 4) = 2·(1 - Φ(2)) = 0.0455003
    const s = sampleRatioMismatch([5100, 4900], [1, 1]);
    expect(s.chi2).toBeCloseTo(4, 10);
    expect(s.df).toBe(1);
    expect(s.p).toBeCloseTo(0.0455003, 6);
    expect(s.mismatch).toBe(false);
  });

  it('5300 vs 4700 on a 50/50 split is flagged', () => {
    // χ² = 300²/5000·2 = 36; P(χ²₁ ≥ 36) = 2·(1 - Φ(6)) = 1.97e-9 < 0.001
    const s = sampleRatioMismatch([5300, 4700], [50, 50]);
    expect(s.chi2).toBeCloseTo(36, 10);
    expect(s.p).toBeLessThan(1e-8);
    expect(s.mismatch).toBe(true);
  });

  it('three variants weighted 1:1:2', () => {
    // observed 30, 20, 50 of 100 -> expected 25, 25, 50; χ² = 25/25 + 25/25 + 0 = 2, df = 2
    // P(χ²₂ ≥ x) = e^(-x/2) => e^-1 = 0.367879
    const s = sampleRatioMismatch([30, 20, 50], [1, 1, 2]);
    expect(s.expected).toEqual([25, 25, 50]);
    expect(s.chi2).toBeCloseTo(2, 10);
    expect(s.df).toBe(2);
    expect(s.p).toBeCloseTo(0.367879, 6);
    expect(chiSquareSurvival(2, 2)).toBeCloseTo(Math.exp(-1), 10);
  });
});
