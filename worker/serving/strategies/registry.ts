/**
 * Candidate strategies by name, and the fallback chain that starts at each one (after Gorse's
 * logics/recommend.go: recommenders registered by name, asked in order until one answers).
 * Adding a strategy: one file exporting a `Strategy`, one `registerStrategy` line below. For an
 * experiment variant to choose it, the admin API must also accept its name (STRATEGIES in
 * worker/experiments/config.ts).
 */
import { control } from './control';
import { editorial } from './editorial';
import { model } from './model';
import { modelVersion } from './model-version';
import { popular } from './popular';
import { rerank, rerankPopular } from './rerank';
import { similar } from './similar';
import { trending } from './trending';
import type { Strategy } from './types';

const strategies = new Map<string, Strategy>();

export function registerStrategy(s: Strategy): void {
  if (strategies.has(s.name)) throw new Error(`strategy "${s.name}" is registered twice`);
  strategies.set(s.name, s);
}

export function getStrategy(name: string): Strategy | undefined {
  return strategies.get(name);
}

/** The strategy and those it falls back to, in order; unknown names and cycles end the chain. */
export function chainFrom(name: string): Strategy[] {
  const chain: Strategy[] = [];
  for (let s = strategies.get(name); s && !chain.includes(s); s = s.fallbackTo ? strategies.get(s.fallbackTo) : undefined) chain.push(s);
  return chain;
}

registerStrategy(model);
registerStrategy(modelVersion);
registerStrategy(popular);
registerStrategy(editorial);
registerStrategy(control);
registerStrategy(rerank);
registerStrategy(rerankPopular);
registerStrategy(similar);
registerStrategy(trending);
