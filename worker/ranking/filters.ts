/**
 * Which catalog items may be shown for a request. One predicate serves both the model's
 * item mask and the popularity fallback, so both honour the same filters.
 */
import type { CatalogItem } from '../catalog/snapshot';
import type { RecommendationRequest } from '../schemas/recommendations';

export interface CandidateFilter {
  (item: CatalogItem): boolean;
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

/** True when the request narrows the catalog beyond stock and explicit exclusions. */
export function hasAttributeFilters(req: RecommendationRequest): boolean {
  return !!(req.category?.length || req.brand?.length || req.price_min !== undefined || req.price_max !== undefined);
}

/** The model's item mask: 1 where the item exists in the catalog and passes the filter. */
export function buildMask(modelItems: (CatalogItem | undefined)[], filter: CandidateFilter): Float32Array {
  const mask = new Float32Array(modelItems.length);
  for (let i = 0; i < modelItems.length; i++) {
    const it = modelItems[i];
    if (it !== undefined && filter(it)) mask[i] = 1;
  }
  return mask;
}

/**
 * The common case (no attribute filters) without a catalog scan: copy a precomputed base mask
 * and clear the excluded items by index.
 */
export function maskFromBase(base: Float32Array, excluded: Set<string>, index: Map<string, number>): Float32Array {
  const mask = base.slice();
  for (const id of excluded) {
    const i = index.get(id);
    if (i !== undefined) mask[i] = 0;
  }
  return mask;
}
