/** Stage 5, rules: the slot's merchandising rules (boost, bury, caps, pins) over the ranked list, cut to k. */
import { applyRules, type Ranked } from '../ranking/rules';
import type { ServeContext } from './context';
import type { Plan } from './plan';

export function applySlotRules(ranked: Ranked[], ctx: ServeContext, plan: Plan): Ranked[] {
  return applyRules(ranked, plan.rules, plan.k, ctx.lookup, ctx.filter);
}
