import type { ItemFacts } from './types';

/** The first `n` items of `items` (a popularity order) that pass `ok`, reading no further. */
export function firstPassing(items: Iterable<ItemFacts>, n: number, ok: (f: ItemFacts) => boolean): ItemFacts[] {
  const out: ItemFacts[] = [];
  if (n <= 0) return out;
  for (const f of items) {
    if (!ok(f)) continue;
    out.push(f);
    if (out.length >= n) break;
  }
  return out;
}
