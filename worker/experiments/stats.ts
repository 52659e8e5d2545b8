/**
 * The statistics behind experiment reports, in one place. Pure functions, no I/O; each one is
 * unit-tested against hand-computed values (test/unit/stats.test.ts).
 *
 * Conventions: proportions are successes / trials; "control" is arm 1, "treatment" arm 2;
 * differences are treatment - control. All intervals are two-sided 95% unless told otherwise.
 */

export const Z95 = 1.959963984540054;

/** Standard normal CDF (Φ), via the complementary error function (|error| < 1.2e-7). */
export function normalCdf(x: number): number {
  return 1 - 0.5 * erfc(x / Math.SQRT2);
}

/** erfc with Chebyshev fit (Numerical Recipes erfcc), fractional error < 1.2e-7 everywhere. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Inverse standard normal CDF (Acklam's rational approximation, |relative error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('p must be in (0, 1)');
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * Wilson score interval for a proportion x/n (better than the Wald interval at the low rates
 * of CTR and conversion): (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
 */
export function proportionInterval(x: number, n: number, z = Z95): Interval {
  if (n <= 0) return { estimate: 0, low: 0, high: 0 };
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Mean with a normal-approximation interval, from sufficient statistics (n, Σx, Σx²):
 * mean ± z·s/√n with the sample variance s² = (Σx² - n·mean²)/(n-1). Used for revenue per visitor.
 */
export function meanInterval(n: number, sum: number, sumSq: number, z = Z95): Interval {
  if (n <= 0) return { estimate: 0, low: 0, high: 0 };
  const mean = sum / n;
  if (n < 2) return { estimate: mean, low: mean, high: mean };
  const variance = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
  const half = z * Math.sqrt(variance / n);
  return { estimate: mean, low: mean - half, high: mean + half };
}

export interface Uplift {
  /** treatment - control, with an unpooled-variance interval */
  absolute: Interval;
  /** (treatment - control) / control; interval = absolute interval / control rate (null when control is 0) */
  relative: Interval | null;
}

/** Difference of two proportions (x2/n2 - x1/n1) with the unpooled standard error. */
export function proportionUplift(x1: number, n1: number, x2: number, n2: number, z = Z95): Uplift {
  const p1 = n1 > 0 ? x1 / n1 : 0;
  const p2 = n2 > 0 ? x2 / n2 : 0;
  const se = n1 > 0 && n2 > 0 ? Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2) : 0;
  const diff = p2 - p1;
  const absolute = { estimate: diff, low: diff - z * se, high: diff + z * se };
  const relative = p1 > 0 ? { estimate: diff / p1, low: absolute.low / p1, high: absolute.high / p1 } : null;
  return { absolute, relative };
}

/** Difference of two means from sufficient statistics (Welch standard error). */
export function meanUplift(a: { n: number; sum: number; sumSq: number }, b: { n: number; sum: number; sumSq: number }, z = Z95): Uplift {
  const va = a.n > 1 ? Math.max(0, (a.sumSq - (a.sum * a.sum) / a.n) / (a.n - 1)) : 0;
  const vb = b.n > 1 ? Math.max(0, (b.sumSq - (b.sum * b.sum) / b.n) / (b.n - 1)) : 0;
  const ma = a.n > 0 ? a.sum / a.n : 0;
  const mb = b.n > 0 ? b.sum / b.n : 0;
  const se = a.n > 0 && b.n > 0 ? Math.sqrt(va / a.n + vb / b.n) : 0;
  const diff = mb - ma;
  const absolute = { estimate: diff, low: diff - z * se, high: diff + z * se };
  const relative = ma > 0 ? { estimate: diff / ma, low: absolute.low / ma, high: absolute.high / ma } : null;
  return { absolute, relative };
}

export interface ZTest {
  z: number;
  /** two-sided */
  p: number;
}

/** Two-proportion z-test with the pooled variance: z = (p2 - p1) / sqrt(p̂(1-p̂)(1/n1 + 1/n2)). */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number): ZTest {
  if (n1 <= 0 || n2 <= 0) return { z: 0, p: 1 };
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: 0, p: 1 };
  const z = (x2 / n2 - x1 / n1) / se;
  return { z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

export interface SequentialTest {
  /** mixture likelihood ratio Λ at this look */
  lambda: number;
  /** always-valid p-value at this look: min(1, 1/Λ); take the running minimum over looks */
  p: number;
}

/**
 * mSPRT for the difference of two proportions (Johari, Pekelis & Walsh 2017, normal
 * approximation): with θ̂ = p2 - p1, its variance V = p1(1-p1)/n1 + p2(1-p2)/n2 and a normal
 * mixing distribution N(0, τ²) over the true difference,
 *   Λ = sqrt(V / (V + τ²)) · exp( θ̂² τ² / (2 V (V + τ²)) ).
 * Rejecting H0 (no difference) the first time Λ ≥ 1/α keeps the false-positive rate ≤ α however
 * often the results are looked at; the always-valid p-value is the running minimum of 1/Λ.
 * τ should be about the size of effect worth detecting (the experiment's MDE), fixed in advance.
 */
export function msprt(x1: number, n1: number, x2: number, n2: number, tau: number): SequentialTest {
  if (n1 <= 0 || n2 <= 0) return { lambda: 1, p: 1 };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const v = (p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2;
  if (v === 0) return { lambda: 1, p: 1 };
  const t2 = tau * tau;
  const theta = p2 - p1;
  const lambda = Math.sqrt(v / (v + t2)) * Math.exp((theta * theta * t2) / (2 * v * (v + t2)));
  return { lambda, p: Math.min(1, 1 / lambda) };
}

/**
 * Per-arm sample size for a two-sided two-proportion test (normal approximation):
 * n = ( z_{1-α/2}·sqrt(2·p̄(1-p̄)) + z_{power}·sqrt(p1(1-p1) + p2(1-p2)) )² / (p2 - p1)², p̄ = (p1+p2)/2.
 */
export function sampleSizePerArm(p1: number, p2: number, alpha = 0.05, power = 0.8): number {
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  const pbar = (p1 + p2) / 2;
  const num = za * Math.sqrt(2 * pbar * (1 - pbar)) + zb * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((num * num) / ((p2 - p1) * (p2 - p1)));
}

/** ln Γ(x) (Lanczos, g = 7, n = 9), accurate to ~1e-15 for x > 0. */
function lnGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = g[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(a, x) (series below a+1, continued fraction above). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/** P(χ²_df ≥ x). */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

export interface SrmCheck {
  chi2: number;
  df: number;
  p: number;
  /** true when p < threshold: the observed split is very unlikely under the configured weights */
  mismatch: boolean;
  expected: number[];
}

/**
 * Sample-ratio-mismatch check: Pearson χ² goodness of fit of the observed units per variant
 * against the configured traffic weights. The conventional alarm threshold is p < 0.001.
 */
export function sampleRatioMismatch(observed: number[], weights: number[], threshold = 0.001): SrmCheck {
  const total = observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (wsum > 0 ? (total * w) / wsum : 0));
  let chi2 = 0;
  let df = -1;
  observed.forEach((o, i) => {
    const e = expected[i]!;
    if (e > 0) {
      chi2 += ((o - e) * (o - e)) / e;
      df += 1;
    }
  });
  if (total === 0 || df < 1) return { chi2: 0, df: Math.max(df, 0), p: 1, mismatch: false, expected };
  const p = chiSquareSurvival(chi2, df);
  return { chi2, df, p, mismatch: p < threshold, expected };
}

/**
 * Power of the two-sided two-proportion test with n per arm (normal approximation):
 * Φ( (|p2 - p1|·√n - z_{1-α/2}·sqrt(2·p̄(1-p̄))) / sqrt(p1(1-p1) + p2(1-p2)) ). Inverse of sampleSizePerArm.
 */
export function powerAt(n: number, p1: number, p2: number, alpha = 0.05): number {
  const za = normalQuantile(1 - alpha / 2);
  const pbar = (p1 + p2) / 2;
  return normalCdf((Math.abs(p2 - p1) * Math.sqrt(n) - za * Math.sqrt(2 * pbar * (1 - pbar))) / Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)));
}
