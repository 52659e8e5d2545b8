/**
 * A short, human-readable reason for each recommended item. Choosing the reason needs only the
 * items' facts; a reason that names another item ("Because you viewed …") says which one, so the
 * caller fetches its title with the returned items' display fields in one call.
 */
import type { ItemFacts } from '../catalog/types';
import type { SessionFeatures } from '../session/durable-object';
import type { Reason as Retrieved } from './two-stage/candidates';

export type Reason = { text: string } | { named: string; prefix: string; otherwise: string };

export function reasonFor(
  item: ItemFacts,
  opts: { pinned?: boolean; contextItem?: ItemFacts; features: SessionFeatures | null; lookup: (id: string) => ItemFacts | undefined },
): Reason {
  const fallback = item.category ? `Popular in ${item.category}` : 'Popular right now';
  if (opts.pinned) return { text: 'Featured' };
  const ctx = opts.contextItem;
  if (ctx && (ctx.category === item.category || ctx.brand === item.brand)) return { named: ctx.id, prefix: 'Similar to ', otherwise: fallback };
  const f = opts.features;
  if (f) {
    for (const r of f.recent) {
      const seen = opts.lookup(r.itemId);
      if (seen && seen.id !== item.id && seen.category && seen.category === item.category) {
        const verb = r.type === 'add_to_cart' ? 'added' : r.type === 'purchase' ? 'bought' : 'viewed';
        return { named: seen.id, prefix: `Because you ${verb} `, otherwise: fallback };
      }
    }
    const aff = f.profile?.affinities;
    if (aff && item.brand && (aff[`brand:${item.brand}`] ?? 0) > 0) return { text: `Matches your interest in ${item.brand}` };
    if (aff && item.category && (aff[`category:${item.category}`] ?? 0) > 0) return { text: `More in ${item.category} for you` };
  }
  return { text: fallback };
}

/** The item a reason names, if any (its title is needed to say it). */
export function namedItem(r: Reason): string | undefined {
  return 'named' in r ? r.named : undefined;
}

/** The reason as text, given the titles fetched; a named item that is gone falls back. */
export function reasonText(r: Reason, title: (id: string) => string | undefined): string {
  if ('text' in r) return r.text;
  const t = title(r.named);
  return t === undefined ? r.otherwise : r.prefix + t;
}

/** The reason for a model-ranked item: what actually retrieved it. */
export function retrievalReason(why: Retrieved): Reason {
  const otherwise = 'Picked for you';
  switch (why.kind) {
    case 'history':
      return { named: why.itemId, prefix: why.action === 'context' ? 'Often viewed with ' : `Because you ${why.action ?? 'viewed'} `, otherwise };
    case 'content':
      return { named: why.itemId, prefix: 'Similar to ', otherwise };
    case 'trending':
      return { text: why.category ? `Trending in ${why.category}` : 'Trending now' };
    case 'category':
      return { text: `More in ${why.category} for you` };
    case 'popular':
      return { text: why.category ? `Popular in ${why.category}` : 'Popular right now' };
  }
}
