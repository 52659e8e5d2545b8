/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * Small seeded PRNG (mulberry32): reproducible bandit simulations and tests in the worker, and
 * deterministic training in model/ (one implementation, so a seed means the same stream in both).
 */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
