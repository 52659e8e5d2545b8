/**
 * Stage 2, plan: what this request is served with. The experiment (holdout, A/B variant or
 * bandit arm) picks the strategy chain, k, diversity and template; the slot config supplies the
 * rules and template otherwise; a running canary rollout puts the shopper in an arm.
 */
import { chooseTreatment, type Treatment } from '../experiments/serve';
import { getCanary, type CanaryServing } from '../inference/model-store';
import { armFor } from '../ops/canary';
import { DEFAULT_TEMPLATE } from '../render/block';
import type { SlotRules } from '../schemas/slots';
import type { ServeContext } from './context';
import { chainFrom } from './strategies/registry';
import type { Strategy } from './strategies/types';

const NO_RULES: SlotRules = { pin: [], boost: [], bury: [] };

/** Outside experiments (and for variants that say "model") the active model answers. */
export const DEFAULT_STRATEGY = 'model';

export interface TemplateRef {
  /** variant: the experiment variant's; page: the slot config the page named; slot: the slot's own; default: the bundled one */
  source: 'variant' | 'page' | 'slot' | 'default';
  html: string;
}

export interface CanaryArm {
  rollout: CanaryServing;
  arm: 'canary' | 'stable';
}

export interface Plan {
  treatment: Treatment;
  /** What the experiment variant changes (undefined: the slot's normal behaviour). */
  variant: Treatment['spec'];
  /** Strategies asked in order until one answers. */
  chain: Strategy[];
  /** The shopper's arm of a running canary rollout, when the chain scores with the active model. */
  canary: CanaryArm | null;
  k: number;
  /** Candidates to ask for: extra ones so that bury / caps / pins still leave k items. */
  want: number;
  rules: SlotRules;
  template: TemplateRef;
}

export function plan(ctx: ServeContext): Plan {
  const { req } = ctx;
  const chosen = chooseTreatment(
    ctx.env,
    ctx.experiments,
    { slot: req.slot, unitKey: ctx.unitKey, device: req.device, hour: ctx.hour, features: ctx.features, lookup: ctx.lookup, segment: ctx.previewSegment },
    ctx.waitUntil,
  );
  // An explicit ask (rerank, similar, trending) is not an experiment's to change: segments only.
  const treatment = ctx.ask ? { ...chosen, experiment: null, variant: null, spec: undefined, windowMs: 0 } : chosen;
  const variant = treatment.spec;
  const chain = chainFrom(ctx.ask?.strategy ?? variant?.strategy ?? DEFAULT_STRATEGY);
  const k = variant?.k ?? req.k;
  // The caller's own candidates come back all of them, none added (pins) or moved by merchandising.
  const rules = ctx.ask?.strategy === 'rerank' ? NO_RULES : variant?.diversity ? { ...ctx.slot.rules, max_per_category: variant.diversity } : ctx.slot.rules;
  return {
    treatment,
    variant,
    chain,
    canary: canaryArm(ctx, chain),
    k,
    want: Math.min(k * 3 + k + rulesSize(rules), 500),
    rules,
    template: templateFor(ctx, variant),
  };
}

/** A sticky share of shoppers is scored by the canary model (worker/ops/canary.ts). */
function canaryArm(ctx: ServeContext, chain: Strategy[]): CanaryArm | null {
  if (!ctx.activeModel || !chain.some((s) => s.servesCanary)) return null;
  const rollout = getCanary();
  return rollout ? { rollout, arm: armFor(rollout.rolloutId, ctx.sessionKey ?? ctx.userKey, rollout.share) } : null;
}

/** An experiment variant's template wins (it is what the variant tests), then the page's choice, then the slot's. */
function templateFor(ctx: ServeContext, variant: Treatment['spec']): TemplateRef {
  if (variant?.template) return { source: 'variant', html: variant.template };
  if (ctx.pageTemplate) return { source: 'page', html: ctx.pageTemplate };
  if (ctx.slot.template) return { source: 'slot', html: ctx.slot.template };
  return { source: 'default', html: DEFAULT_TEMPLATE };
}

function rulesSize(r: { pin: unknown[]; bury: unknown[] }): number {
  return r.pin.length + (r.bury.length ? 20 : 0);
}
