/**
 * Stage 3, candidates: the plan's strategies are asked in order until one answers. A strategy
 * that throws is logged and charged as an error; one that returns null simply cannot answer.
 */
import { log } from '../ops/log';
import type { ServeContext } from './context';
import type { Plan } from './plan';
import type { Candidates, Strategy } from './strategies/types';

export interface ChainOutcome {
  answer: Candidates;
  /** The strategy that answered. */
  by: Strategy;
  /** Every strategy asked, in order (the one that answered last). */
  tried: Strategy[];
  /** A strategy failed on the way, or answered only after a model it tried first failed. */
  failed: boolean;
  /** The answer is of another kind than planned (a popularity list instead of the model's). */
  fallback: boolean;
}

export async function candidates(ctx: ServeContext, plan: Plan): Promise<ChainOutcome> {
  const tried: Strategy[] = [];
  let failed = false;
  for (const s of plan.chain) {
    tried.push(s);
    try {
      const answer = await s.candidates(ctx, plan);
      if (answer) return { answer, by: s, tried, failed: failed || !!answer.degraded, fallback: s.reportAs !== plan.chain[0]!.reportAs };
    } catch (e) {
      failed = true;
      log('warn', 'strategy_failed', { strategy: s.name, slot: ctx.req.slot, error: (e as Error).message });
    }
  }
  // Only a chain that does not end in an always-answering strategy gets here: an empty answer.
  const last = plan.chain.at(-1)!;
  return { answer: { ranked: [], modelVersion: null }, by: last, tried, failed, fallback: last.reportAs !== plan.chain[0]!.reportAs };
}
