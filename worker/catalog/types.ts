/** What the serving code knows about every catalog item (filters, popularity) without its display fields. */
export interface ItemFacts {
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  inStock: boolean;
  popularity: number;
  /** Tagged as a deal (sale, clearance, ...): the segments' deal_share needs it for history items. */
  deal: boolean;
}

/** Title, links and tags: fetched only for the items a request returns (worker/catalog/display.ts). */
export interface DisplayFields {
  title: string;
  imageUrl: string | null;
  url: string | null;
  tags: string[];
}

export interface ServingCatalog {
  /** Items present (not removed). */
  readonly size: number;
  /** Snapshot id + applied change seq: changes whenever anything changed. */
  readonly version: string;
  /** The snapshot this catalog started from (null: none, the whole catalog is the delta) and the last change applied. */
  readonly snapshotId: string | null;
  readonly seq: number;
  /** Built on demand from the columns; nothing per item is kept. */
  facts(id: string): ItemFacts | undefined;
  has(id: string): boolean;
  /** The most popular items passing `ok`, most popular first (precomputed order + changed items; never sorts all items). */
  popular(n: number, ok: (f: ItemFacts) => boolean, category?: string): ItemFacts[];
  /** The same order as popular(), lazily: stop whenever the caller has enough. */
  popularIter(category?: string): Iterable<ItemFacts>;
  categories(): string[];
}
