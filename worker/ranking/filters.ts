/**
 * Which catalog items may be shown for a request. One predicate serves both the model's
 * item mask and the popularity fallback, so both honour the same filters.
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

/** True when the request narrows the catalog beyond stock and explicit exclusions. */
export function hasAttributeFilters(req: RecommendationRequest): boolean {
  return !!(req.category?.length || req.brand?.length || req.price_min !== undefined || req.price_max !== undefined);
}

/** The model's item mask: 1 where the item exists in the catalog and passes the filter. */
export function buildMask(modelItems: (ItemFacts | undefined)[], filter: CandidateFilter): Float32Array {
  const mask = new Float32Array(modelItems.length);
  for (let i = 0; i < modelItems.length; i++) {
    const it = modelItems[i];
    if (it !== undefined && filter(it)) mask[i] = 1;
  }
  return mask;
}

/**
 * The model's items' filterable attributes as typed columns (built once per model and catalog),
 * so an attribute filter scans arrays instead of calling a predicate on 50k objects.
 */
export interface ItemColumns {
  /** code in `categories` / `brands`, -1 when the item has none (or is not in the catalog) */
  category: Int32Array;
  brand: Int32Array;
  /** NaN when the item has no price */
  price: Float64Array;
  categories: Map<string, number>;
  brands: Map<string, number>;
}

export function itemColumns(modelItems: (ItemFacts | undefined)[]): ItemColumns {
  const n = modelItems.length;
  const cols: ItemColumns = { category: new Int32Array(n), brand: new Int32Array(n), price: new Float64Array(n), categories: new Map(), brands: new Map() };
  const code = (codes: Map<string, number>, v: string | null | undefined) => {
    if (v === null || v === undefined) return -1;
    let c = codes.get(v);
    if (c === undefined) codes.set(v, (c = codes.size));
    return c;
  };
  for (let i = 0; i < n; i++) {
    const it = modelItems[i];
    cols.category[i] = code(cols.categories, it?.category);
    cols.brand[i] = code(cols.brands, it?.brand);
    cols.price[i] = it?.price ?? NaN;
  }
  return cols;
}

/** A stable key for the request's attribute filters (the part of a mask shared across shoppers). */
export function attributeFilterKey(req: RecommendationRequest): string {
  const sorted = (xs: string[] | undefined) => (xs?.length ? [...new Set(xs)].sort() : null);
  return JSON.stringify([sorted(req.category), sorted(req.brand), req.price_min ?? null, req.price_max ?? null]);
}

/**
 * `base` (present / in stock) narrowed by the request's attribute filters: the same items as
 * buildMask with buildFilter's category, brand and price conditions, without exclusions.
 */
export function attributeMask(base: Float32Array, cols: ItemColumns, req: RecommendationRequest): Float32Array {
  const allowed = (codes: Map<string, number>, wanted: string[] | undefined) => {
    if (!wanted?.length) return null;
    const ok = new Uint8Array(codes.size + 1);
    for (const v of wanted) {
      const c = codes.get(v);
      if (c !== undefined) ok[c] = 1;
    }
    return ok;
  };
  const cats = allowed(cols.categories, req.category);
  const brands = allowed(cols.brands, req.brand);
  const lo = req.price_min;
  const hi = req.price_max;
  const mask = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    if (base[i] === 0) continue;
    // code -1 (no category / brand) reads ok[-1] === undefined: filtered out, as in buildFilter
    if (cats && cats[cols.category[i]!] !== 1) continue;
    if (brands && brands[cols.brand[i]!] !== 1) continue;
    const p = cols.price[i]!;
    if (lo !== undefined && !(p >= lo)) continue; // NaN (no price) fails both bounds
    if (hi !== undefined && !(p <= hi)) continue;
    mask[i] = 1;
  }
  return mask;
}

/**
 * The mask without a catalog scan: a precomputed base mask (stock / presence, possibly narrowed
 * by attribute filters) with the excluded items cleared by index. Without exclusions that apply,
 * the shared base itself is returned: callers only read it (inference copies it into its own memory).
 */
export function maskFromBase(base: Float32Array, excluded: Set<string>, index: Map<string, number>): Float32Array {
  let mask: Float32Array | null = null;
  for (const id of excluded) {
    const i = index.get(id);
    if (i === undefined || base[i] === 0) continue;
    mask ??= base.slice();
    mask[i] = 0;
  }
  return mask ?? base;
}
