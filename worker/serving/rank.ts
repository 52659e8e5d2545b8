/**
 * Stage 4, rank: the candidates in score order, best first. Strategies that score (the model's
 * top-k, the popularity list) already hand them over in order; ties keep the strategy's order.
 */
import type { Ranked } from '../ranking/rules';

export function rank(candidates: Ranked[]): Ranked[] {
  return [...candidates].sort((a, b) => b.score - a.score);
}
