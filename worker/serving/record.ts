/**
 * Stage 6, record: the serve metric (model, canary arm, fallback, error, top score, categories)
 * and, inside an experiment, the served record attribution joins events to. Both are buffered.
 */
import { recordTreatment } from '../experiments/serve';
import { recordServe } from '../ops/metrics';
import type { Ranked } from '../ranking/rules';
import type { RecommendationResponse } from '../schemas/recommendations';
import type { ChainOutcome } from './candidates';
import type { ServeContext } from './context';
import type { Plan } from './plan';

export function record(ctx: ServeContext, plan: Plan, outcome: ChainOutcome, ranked: Ranked[], out: RecommendationResponse): void {
  // The canary's arm is charged only when a strategy that serves the canary was asked.
  const canary = outcome.tried.some((s) => s.servesCanary) ? plan.canary : null;
  const { treatment } = plan;
  recordServe(ctx.env, {
    slot: out.slot,
    model: out.model_version,
    arm: canary?.arm ?? null,
    rollout: canary?.rollout.rolloutId ?? null,
    variant: typeof treatment.variant === 'string' ? treatment.variant : null,
    fallback: out.fallback,
    error: outcome.failed,
    topScore: out.model_version !== null && ranked.length ? ranked[0]!.score : null,
    categories: countBy(out.items.map((i) => i.category ?? '(none)')),
  });
  recordTreatment(ctx.env, treatment, out.recommendation_id, out.slot, { unitKey: ctx.unitKey, sessionKey: ctx.sessionKey }, ctx.waitUntil);
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
