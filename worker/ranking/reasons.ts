/** A short, human-readable reason for each recommended item. */
import type { CatalogItem } from '../catalog/snapshot';
import type { SessionFeatures } from '../session/durable-object';
import type { Reason } from './two-stage/candidates';

/** The reason for a model-ranked item: what actually retrieved it. */
export function retrievalReason(why: Reason, lookup: (id: string) => CatalogItem | undefined): string {
  switch (why.kind) {
    case 'history': {
      const seen = lookup(why.itemId);
      if (!seen) return 'Picked for you';
      return why.action === 'context' ? `Often viewed with ${seen.title}` : `Because you ${why.action ?? 'viewed'} ${seen.title}`;
    }
    case 'content': {
      const seen = lookup(why.itemId);
      return seen ? `Similar to ${seen.title}` : 'Picked for you';
    }
    case 'trending':
      return why.category ? `Trending in ${why.category}` : 'Trending now';
    case 'category':
      return `More in ${why.category} for you`;
    case 'popular':
      return why.category ? `Popular in ${why.category}` : 'Popular right now';
  }
}

export function reasonFor(
  item: CatalogItem,
  opts: { pinned?: boolean; contextItem?: CatalogItem; features: SessionFeatures | null; lookup: (id: string) => CatalogItem | undefined },
): string {
  if (opts.pinned) return 'Featured';
  const ctx = opts.contextItem;
  if (ctx && (ctx.category === item.category || ctx.brand === item.brand)) return `Similar to ${ctx.title}`;
  const f = opts.features;
  if (f) {
    for (const r of f.recent) {
      const seen = opts.lookup(r.itemId);
      if (seen && seen.id !== item.id && seen.category && seen.category === item.category) {
        const verb = r.type === 'add_to_cart' ? 'added' : r.type === 'purchase' ? 'bought' : 'viewed';
        return `Because you ${verb} ${seen.title}`;
      }
    }
    const aff = f.profile?.affinities;
    if (aff && item.brand && (aff[`brand:${item.brand}`] ?? 0) > 0) return `Matches your interest in ${item.brand}`;
    if (aff && item.category && (aff[`category:${item.category}`] ?? 0) > 0) return `More in ${item.category} for you`;
  }
  return item.category ? `Popular in ${item.category}` : 'Popular right now';
}
