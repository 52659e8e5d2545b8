/**
 * Non-model ranking: the popularity list, shaped by the categories the session already
 * shows. Serves cold start when no model is loaded and every fallback.
 */
import type { ServingCatalog } from '../catalog/types';
import type { SessionFeatures } from '../session/durable-object';
import type { CandidateFilter } from './filters';
import type { Ranked } from './rules';

const SCAN = 5000;

/** The one category a request filters on, if exactly one: its own popularity order is the one to scan. */
export function onlyCategory(req: { category?: string[] }): string | undefined {
  return req.category?.length === 1 ? req.category[0] : undefined;
}

/**
 * `category`: the request asks for exactly this category, so the category's own popularity order
 * is scanned instead of the catalog-wide one.
 */
export function popularRanking(catalog: ServingCatalog, filter: CandidateFilter, features: SessionFeatures | null, n: number, category?: string): Ranked[] {
  const cat = new Map<string, number>();
  let max = 0;
  for (const [a, w] of Object.entries(features?.attrs ?? {})) {
    if (a.startsWith('category:')) {
      cat.set(a.slice(9), w);
      max = Math.max(max, w);
    }
  }
  const out: Ranked[] = [];
  // Without category affinities the score follows popularity: the first n are the answer.
  for (const item of catalog.popular(max > 0 ? SCAN : n, filter, category)) {
    const affinity = max > 0 && item.category ? (cat.get(item.category) ?? 0) / max : 0;
    out.push({ item, score: Math.log1p(item.popularity) * (1 + affinity) });
  }
  out.sort((a, b) => b.score - a.score);
  return out.slice(0, n);
}
