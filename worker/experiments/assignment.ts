/**
 * Deterministic, sticky assignment: a shopper's bucket in an experiment is a hash of their
 * pseudonymous key and the experiment's salt, so the same shopper always lands in the same
 * variant (across isolates and regions) while different experiments are independent.
 */
import { chooseArm, type Rng } from '../bandits/thompson';
import type { ContextCounts } from '../bandits/client';
import type { Experiment, Variant } from './config';
import { fnv1a } from '../lib/fnv';
import type { SegmentScore } from './segments';

/** 32-bit FNV-1a followed by the murmur3 finalizer (good avalanche on short ids). */
export function hash32(s: string): number {
  let h = fnv1a(s);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [0, 1) for (unit, salt, purpose). */
export function bucket(unitKey: string, salt: string, purpose: string): number {
  return hash32(`${purpose}:${salt}:${unitKey}`) / 4294967296;
}

/** Weighted pick with a uniform u in [0, 1). */
export function pickWeighted<T extends { weight: number }>(options: T[], u: number): T {
  const total = options.reduce((a, o) => a + Math.max(0, o.weight), 0);
  let x = u * total;
  for (const o of options) {
    const w = Math.max(0, o.weight);
    if (x < w) return o;
    x -= w;
  }
  return options.filter((o) => o.weight > 0).at(-1) ?? options[0]!;
}

export const GLOBAL_HOLDOUT_SALT = 'global-holdout';

export interface AssignInput {
  unitKey: string | null;
  device?: 'mobile' | 'desktop' | 'other';
  segments: SegmentScore[];
}

export type AssignOutcome =
  | { kind: 'holdout' }
  | { kind: 'variant'; experiment: Experiment; variant: Variant; context: string }
  | { kind: 'none' };

export function isTargeted(exp: Experiment, input: AssignInput): boolean {
  const t = exp.targeting;
  if (t.devices?.length && (!input.device || !t.devices.includes(input.device))) return false;
  if (t.segments?.length && !input.segments.some((s) => t.segments!.includes(s.name))) return false;
  return true;
}

/** The bandit context a request falls in ("" = no context). */
export function banditContext(exp: Experiment, input: AssignInput): string {
  if (exp.bandit.context === 'device') return input.device ?? 'unknown';
  if (exp.bandit.context === 'segment') {
    const names = new Set(input.segments.map((s) => s.name));
    const order = exp.bandit.context_segments?.length ? exp.bandit.context_segments : input.segments.map((s) => s.name);
    return order.find((n) => names.has(n)) ?? 'other';
  }
  return '';
}

/**
 * Who sees what: global holdout first (sticky per shopper), then the slot's running experiment
 * if the shopper is targeted and inside its traffic share; A/B variants by weighted hash,
 * bandit arms by Thompson sampling on the cached posteriors of the shopper's context.
 */
export function assign(exp: Experiment | undefined, holdout: number, input: AssignInput, counts: (e: Experiment) => ContextCounts, rng: Rng): AssignOutcome {
  if (holdout > 0 && input.unitKey && bucket(input.unitKey, GLOBAL_HOLDOUT_SALT, 'holdout') < holdout) return { kind: 'holdout' };
  if (!exp || !isTargeted(exp, input)) return { kind: 'none' };
  if (exp.kind === 'ab') {
    // A/B needs a stable unit; anonymous traffic without one is not enrolled.
    if (!input.unitKey) return { kind: 'none' };
    if (exp.traffic < 1 && bucket(input.unitKey, exp.salt, 'traffic') >= exp.traffic) return { kind: 'none' };
    const variant = pickWeighted(exp.variants, bucket(input.unitKey, exp.salt, 'variant'));
    return { kind: 'variant', experiment: exp, variant, context: '' };
  }
  if (exp.traffic < 1) {
    const u = input.unitKey ? bucket(input.unitKey, exp.salt, 'traffic') : rng();
    if (u >= exp.traffic) return { kind: 'none' };
  }
  const context = banditContext(exp, input);
  const arms = exp.variants.map((v) => v.name);
  const name = chooseArm(arms, counts(exp)[context] ?? {}, exp.bandit.min_exploration, rng);
  return { kind: 'variant', experiment: exp, variant: exp.variants.find((v) => v.name === name)!, context };
}
