/**
 * Per-slot merchandising rules, applied after scoring: boost and bury re-order,
 * max_per_category caps, pins put chosen items at fixed positions.
 */
import type { ItemFacts } from '../catalog/types';
import type { SlotRules } from '../schemas/slots';
import type { Reason } from './two-stage/candidates';

export interface Ranked {
  item: ItemFacts;
  score: number;
  pinned?: boolean;
  /** what retrieved it (model strategy) */
  why?: Reason;
  /** its rank features (model strategy; a view into the request's feature matrix, FEATURES order): the console's preview explains the score with them */
  features?: Float32Array;
}

type Match = { item_ids?: string[]; category?: string; brand?: string };

function matches(m: Match, item: ItemFacts): boolean {
  return !!(m.item_ids?.includes(item.id) || (m.category && m.category === item.category) || (m.brand && m.brand === item.brand));
}

export function applyRules(
  candidates: Ranked[],
  rules: SlotRules,
  k: number,
  lookup: (id: string) => ItemFacts | undefined,
  allowed: (item: ItemFacts) => boolean,
): Ranked[] {
  let list = candidates.map((c) => {
    let s = c.score;
    for (const b of rules.boost) if (matches(b, c.item)) s = s >= 0 ? s * b.factor : s / b.factor;
    return { ...c, score: s, buried: rules.bury.some((b) => matches(b, c.item)) };
  });
  list.sort((a, b) => Number(a.buried) - Number(b.buried) || b.score - a.score);

  if (rules.max_per_category) {
    const cap = rules.max_per_category;
    const per = new Map<string | null, number>();
    const kept: typeof list = [];
    const over: typeof list = [];
    for (const c of list) {
      const n = per.get(c.item.category) ?? 0;
      if (n < cap) {
        per.set(c.item.category, n + 1);
        kept.push(c);
      } else over.push(c);
    }
    // The cap yields when nothing else is left to show.
    list = [...kept, ...over];
  }

  const pins = rules.pin
    .map((p) => ({ p, item: lookup(p.item_id) }))
    .filter((x): x is { p: (typeof rules.pin)[number]; item: ItemFacts } => !!x.item && allowed(x.item))
    .sort((a, b) => a.p.position - b.p.position);
  const pinnedIds = new Set(pins.map((x) => x.item.id));
  // `why` (what retrieved the item) goes along: it is the item's reason (worker/serving/respond.ts); its features explain the score (the console's preview).
  const out: Ranked[] = list.filter((c) => !pinnedIds.has(c.item.id)).map(({ item, score, why, features }) => ({ item, score, ...(why ? { why } : {}), ...(features ? { features } : {}) }));
  for (const { p, item } of pins) {
    out.splice(Math.min(p.position - 1, out.length), 0, { item, score: out[Math.min(p.position - 1, out.length - 1)]?.score ?? 0, pinned: true });
  }
  return out.slice(0, k);
}
