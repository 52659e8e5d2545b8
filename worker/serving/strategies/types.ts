/** What a candidate strategy is: a name, what the response calls it, where it falls back to, and one function. */
import type { Ranked } from '../../ranking/rules';
import type { RecommendationResponse } from '../../schemas/recommendations';
import type { ServeContext } from '../context';
import type { Plan } from '../plan';

export interface Candidates {
  /** Scored candidates, at most `plan.want`; the rank stage orders them. */
  ranked: Ranked[];
  /** The model version that scored them (null: no model did). */
  modelVersion: string | null;
  /** It answered, but only after a model that should have answered failed (a canary): charged as an error. */
  degraded?: boolean;
}

export interface Strategy {
  /** The name plans and experiment variants use. */
  name: string;
  /** The response's `strategy` field when this one answers (a pinned model version is still "model"). */
  reportAs: RecommendationResponse['strategy'];
  /** The next strategy in its chain when it cannot answer or fails (none: it always answers). */
  fallbackTo?: string;
  /** It scores with the active model, so a running canary rollout splits its traffic. */
  servesCanary?: boolean;
  /** null: cannot answer here (the next one in the chain is asked); throwing: failed (next one, charged as an error). */
  candidates(ctx: ServeContext, plan: Plan): Promise<Candidates | null>;
}
