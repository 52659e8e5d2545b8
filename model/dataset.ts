/**
 * Indexed data set: item and attribute vocabularies, and each user's interaction sequence
 * in time order (ties in time broken by item id, numerically when both ids are numbers).
 * A user's repeated interactions with one item keep the last one (its position in time).
 */
import { EVENT_STRENGTH, type EventRow, type ItemRow } from './io';

export interface Dataset {
  items: ItemRow[];
  itemIds: string[];
  itemIndex: Map<string, number>;
  /** Attribute vocabulary: category:*, brand:*, price:<band>, tag:* */
  attributes: string[];
  /** Attribute indices of each item */
  itemAttrs: number[][];
  users: string[];
  /** Item indices of each user in time order (oldest first), one entry per distinct item */
  seqs: Int32Array[];
  /** Strongest event strength per sequence entry (view 1 … purchase 5) */
  strengths: Float32Array[];
  /** Timestamps per sequence entry */
  times: Float64Array[];
  summary: {
    users: number;
    items: number;
    events: number;
    interactions: number;
    attributes: number;
    items_without_events: number;
    event_items_missing_from_catalog: number;
    event_types: Record<string, number>;
  };
}

export const PRICE_BANDS = 5;

export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function buildDataset(events: EventRow[], catalog: ItemRow[]): Dataset {
  const items = catalog.slice();
  const itemIndex = new Map<string, number>();
  items.forEach((it, i) => itemIndex.set(it.id, i));
  let missing = 0;
  for (const e of events)
    if (!itemIndex.has(e.item)) {
      itemIndex.set(e.item, items.length);
      items.push({ id: e.item, tags: [] });
      missing++;
    }

  // attribute vocabulary (sorted within kind for determinism)
  const prices = items.map((i) => i.price).filter((p): p is number => p !== undefined).sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let b = 1; b < PRICE_BANDS; b++) if (prices.length) cuts.push(prices[Math.floor((b * prices.length) / PRICE_BANDS)]!);
  const band = (p: number) => {
    let b = 0;
    while (b < cuts.length && p >= cuts[b]!) b++;
    return b;
  };
  const keysOf = (it: ItemRow): string[] => {
    const k: string[] = [];
    if (it.category) k.push(`category:${it.category}`);
    if (it.brand) k.push(`brand:${it.brand}`);
    if (it.price !== undefined && prices.length) k.push(`price:${band(it.price)}`);
    for (const t of it.tags) k.push(`tag:${t}`);
    return [...new Set(k)];
  };
  const itemKeys = items.map(keysOf);
  const kindOrder = (s: string) => ['category', 'brand', 'price', 'tag'].indexOf(s.slice(0, s.indexOf(':')));
  const attributes = [...new Set(itemKeys.flat())].sort((a, b) => kindOrder(a) - kindOrder(b) || compareIds(a.slice(a.indexOf(':') + 1), b.slice(b.indexOf(':') + 1)));
  const attrIndex = new Map(attributes.map((a, i) => [a, i]));
  const itemAttrs = itemKeys.map((ks) => ks.map((k) => attrIndex.get(k)!));

  // per-user sequences
  const byUser = new Map<string, EventRow[]>();
  const types: Record<string, number> = {};
  for (const e of events) {
    let l = byUser.get(e.user);
    if (!l) byUser.set(e.user, (l = []));
    l.push(e);
    types[e.type] = (types[e.type] ?? 0) + 1;
  }
  const users = [...byUser.keys()];
  const seqs: Int32Array[] = [];
  const strengths: Float32Array[] = [];
  const times: Float64Array[] = [];
  let interactions = 0;
  const seen = new Uint8Array(items.length);
  for (const u of users) {
    const l = byUser.get(u)!;
    l.sort((a, b) => a.ts - b.ts || compareIds(a.item, b.item));
    // keep the last occurrence of each item; strength = max over occurrences
    const strength = new Map<number, number>();
    const last = new Map<number, number>();
    l.forEach((e, pos) => {
      const i = itemIndex.get(e.item)!;
      strength.set(i, Math.max(strength.get(i) ?? 0, EVENT_STRENGTH[e.type]));
      last.set(i, pos);
    });
    const order = [...last.entries()].sort((a, b) => a[1] - b[1]);
    seqs.push(Int32Array.from(order, ([i]) => i));
    strengths.push(Float32Array.from(order, ([i]) => strength.get(i)!));
    times.push(Float64Array.from(order, ([, pos]) => l[pos]!.ts));
    interactions += order.length;
    for (const [i] of order) seen[i] = 1;
  }
  return {
    items,
    itemIds: items.map((i) => i.id),
    itemIndex,
    attributes,
    itemAttrs,
    users,
    seqs,
    strengths,
    times,
    summary: {
      users: users.length,
      items: items.length,
      events: events.length,
      interactions,
      attributes: attributes.length,
      items_without_events: items.length - seen.reduce((s, x) => s + x, 0),
      event_items_missing_from_catalog: missing,
      event_types: types,
    },
  };
}

/** Training sequences with the last `drop` entries of each user removed. */
export function truncated(ds: Dataset, drop: number): { seqs: Int32Array[]; strengths: Float32Array[]; times: Float64Array[] } {
  return {
    seqs: ds.seqs.map((s) => s.subarray(0, Math.max(0, s.length - drop))),
    strengths: ds.strengths.map((s) => s.subarray(0, Math.max(0, s.length - drop))),
    times: ds.times.map((s) => s.subarray(0, Math.max(0, s.length - drop))),
  };
}
