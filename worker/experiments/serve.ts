/**
 * The experiment step of a recommendation request: segments, holdout / variant / arm, and what
 * the chosen variant changes (strategy, model version, k, diversity, template). Everything it
 * reads is cached per isolate; the only write is the batched `rec_served` row. What a variant's
 * strategy serves is worker/serving/strategies/.
 */
import { cachedBanditCounts } from '../bandits/client';
import type { ItemFacts } from '../catalog/types';
import type { SessionFeatures } from '../session/durable-object';
import { assign } from './assignment';
import { recordServed } from './attribution';
import type { Experiment, SegmentRule, Variant } from './config';
import { evaluateSegments, getSegmentRules, segmentFeatures, type SegmentScore } from './segments';
import { getRunning, type RunningState } from './store';

export const HOLDOUT_EXPERIMENT = 'global-holdout';
const HOLDOUT_WINDOW_MS = 24 * 3600_000;

export interface ExperimentContext {
  running: RunningState;
  rules: Record<string, SegmentRule>;
}

export async function loadExperimentContext(env: Env, waitUntil?: (p: Promise<unknown>) => void): Promise<ExperimentContext> {
  const [running, rules] = await Promise.all([getRunning(env.DB, waitUntil), getSegmentRules(env.DB, waitUntil)]);
  return { running, rules };
}

export interface Treatment {
  experiment: string | null;
  variant: string | null;
  segments: SegmentScore[];
  /** what the variant changes; undefined = the slot's normal behaviour */
  spec?: Pick<Variant, 'strategy' | 'model_version' | 'items' | 'template' | 'k' | 'diversity' | 'payload'>;
  context: string;
  windowMs: number;
}

export interface TreatmentInput {
  slot: string;
  unitKey: string | null;
  device?: 'mobile' | 'desktop' | 'other';
  hour: number;
  features: SessionFeatures | null;
  lookup: (id: string) => ItemFacts | undefined;
  /** The console's "preview as a segment": the shopper is taken to be in this segment (score 1). */
  segment?: string;
}

export function chooseTreatment(env: Env, ctx: ExperimentContext, input: TreatmentInput, waitUntil?: (p: Promise<unknown>) => void): Treatment {
  const f = segmentFeatures({ features: input.features, lookup: input.lookup, hour: input.hour, device: input.device, now: Date.now() });
  const evaluated = evaluateSegments(ctx.rules, f);
  const segments = input.segment ? [{ name: input.segment, score: 1 }, ...evaluated.filter((s) => s.name !== input.segment)] : evaluated;
  const exp: Experiment | undefined = ctx.running.bySlot.get(input.slot);
  const outcome = assign(exp, ctx.running.holdout, { unitKey: input.unitKey, device: input.device, segments }, (e) => cachedBanditCounts(env, e, waitUntil), Math.random);
  if (outcome.kind === 'holdout') {
    return { experiment: HOLDOUT_EXPERIMENT, variant: 'holdout', segments, spec: { strategy: 'control' }, context: '', windowMs: HOLDOUT_WINDOW_MS };
  }
  if (outcome.kind === 'none') return { experiment: null, variant: null, segments, context: '', windowMs: 0 };
  const v = outcome.variant;
  return {
    experiment: outcome.experiment.id,
    variant: v.name,
    segments,
    spec: { strategy: v.strategy, model_version: v.model_version, items: v.items, template: v.template, k: v.k, diversity: v.diversity, payload: v.payload },
    context: outcome.context,
    windowMs: Math.round(outcome.experiment.attribution_window_hours * 3600_000),
  };
}

/** Leave the compact served record that attribution joins events to. */
export function recordTreatment(
  env: Env,
  t: Treatment,
  recommendationId: string,
  slot: string,
  keys: { unitKey: string | null; sessionKey: string | null },
  waitUntil?: (p: Promise<unknown>) => void,
): void {
  if (!t.experiment || !t.variant) return;
  recordServed(
    env.DB,
    { recommendationId, experimentId: t.experiment, variant: t.variant, context: t.context, slot, unitKey: keys.unitKey, sessionKey: keys.sessionKey, servedAt: Date.now(), windowMs: t.windowMs },
    waitUntil,
  );
}
