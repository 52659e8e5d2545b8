/**
 * Which catalog items may be shown for a request. One predicate serves every strategy
 * (the model's retrieval, the popularity list, editorial lists), so all honour the same filters.
 */
import type { ItemFacts } from '../catalog/types';
import type { RecommendationRequest } from '../schemas/recommendations';

export interface CandidateFilter {
  (item: ItemFacts): boolean;
}

export function buildFilter(req: RecommendationRequest, excluded: Set<string>): CandidateFilter {
  const cats = req.category?.length ? new Set(req.category) : null;
  const brands = req.brand?.length ? new Set(req.brand) : null;
  const { price_min: lo, price_max: hi, in_stock: inStockOnly } = req;
  return (item) => {
    if (excluded.has(item.id)) return false;
    if (inStockOnly && !item.inStock) return false;
    if (cats && !(item.category !== null && cats.has(item.category))) return false;
    if (brands && !(item.brand !== null && brands.has(item.brand))) return false;
    if (lo !== undefined && !(item.price !== null && item.price >= lo)) return false;
    if (hi !== undefined && !(item.price !== null && item.price <= hi)) return false;
    return true;
  };
}
