/**
 * Why each recommended item is there, as a code with parameters (worker/render/messages.ts says it
 * in a language). Choosing the reason needs only the items' facts; a reason that names another
 * item ("Because you viewed …") says which one, so the caller fetches its title with the returned
 * items' display fields in one call.
 */
import type { ItemFacts } from '../catalog/types';
import type { ReasonCode } from '../schemas/recommendations';
import type { SessionFeatures } from '../session/durable-object';
import type { Reason as Retrieved } from './two-stage/candidates';

export type ReasonParams = Record<string, string>;

/** `named`: the id of the item the reason names (params.item is its title); `otherwise` when that item is gone. */
export type Reason = { code: ReasonCode; params: ReasonParams } | { code: ReasonCode; named: string; otherwise: Reason };

const popular = (category: string | null): Reason => (category ? { code: 'popular_in_category', params: { category } } : { code: 'popular_now', params: {} });
const BECAUSE: Record<string, ReasonCode> = { viewed: 'because_you_viewed', added: 'because_you_added', bought: 'because_you_bought' };

export function reasonFor(
  item: ItemFacts,
  opts: { pinned?: boolean; contextItem?: ItemFacts; features: SessionFeatures | null; lookup: (id: string) => ItemFacts | undefined },
): Reason {
  const fallback = popular(item.category);
  if (opts.pinned) return { code: 'featured', params: {} };
  const ctx = opts.contextItem;
  if (ctx && (ctx.category === item.category || ctx.brand === item.brand)) return { code: 'similar_to', named: ctx.id, otherwise: fallback };
  const f = opts.features;
  if (f) {
    for (const r of f.recent) {
      const seen = opts.lookup(r.itemId);
      if (seen && seen.id !== item.id && seen.category && seen.category === item.category) {
        const code = r.type === 'add_to_cart' ? 'because_you_added' : r.type === 'purchase' ? 'because_you_bought' : 'because_you_viewed';
        return { code, named: seen.id, otherwise: fallback };
      }
    }
    const aff = f.profile?.affinities;
    if (aff && item.brand && (aff[`brand:${item.brand}`] ?? 0) > 0) return { code: 'brand_interest', params: { brand: item.brand } };
    if (aff && item.category && (aff[`category:${item.category}`] ?? 0) > 0) return { code: 'more_in_category', params: { category: item.category } };
  }
  return fallback;
}

/** The item a reason names, if any (its title is needed to say it). */
export function namedItem(r: Reason): string | undefined {
  return 'named' in r ? r.named : undefined;
}

/** The reason's code and parameters, given the titles fetched; a named item that is gone falls back. */
export function resolveReason(r: Reason, title: (id: string) => string | undefined): { code: ReasonCode; params: ReasonParams } {
  if ('params' in r) return r;
  const t = title(r.named);
  return t === undefined ? resolveReason(r.otherwise, title) : { code: r.code, params: { item: t, item_id: r.named } };
}

/** The reason for a model-ranked item: what actually retrieved it. */
export function retrievalReason(why: Retrieved): Reason {
  const otherwise: Reason = { code: 'picked_for_you', params: {} };
  switch (why.kind) {
    case 'history':
      return { code: why.action === 'context' ? 'often_viewed_with' : (BECAUSE[why.action ?? 'viewed'] ?? 'because_you_viewed'), named: why.itemId, otherwise };
    case 'content':
      return { code: 'similar_to', named: why.itemId, otherwise };
    case 'trending':
      return why.category ? { code: 'trending_in_category', params: { category: why.category } } : { code: 'trending_now', params: {} };
    case 'category':
      return { code: 'more_in_category', params: { category: why.category } };
    case 'popular':
      return popular(why.category);
  }
}
