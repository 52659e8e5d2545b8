/**
 * The catalog of an isolate whose snapshot is still loading (its first requests): the facts of
 * just the items a request touches, read from D1's `items` (the table the snapshot and the change
 * log are made from, so the answers are the loaded catalog's). At 1M items the snapshot is a
 * 26 MB read; a request touches a few hundred items.
 *
 * Lookups stay synchronous: a lookup this view cannot answer yet is noted as missed, `fill()`
 * reads everything missed in one batch, and serving runs the pass again (worker/serving/
 * pipeline.ts). Popularity lists are read a page at a time, deeper when a pass ran off the end.
 */
import { FACTS_COLUMNS, factsOf, type FactsRow } from './delta';
import { countRead } from './read-stats';
import { firstPassing } from './first-passing';
import type { ItemFacts, ServingCatalog } from './types';

/** First page of a popularity list; a pass that runs off its end asks for 4× more, up to MAX. */
const POPULAR_PAGE = 200;
const POPULAR_MAX = 5000;

const before = (a: ItemFacts, b: ItemFacts) => b.popularity - a.popularity || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class PartialCatalog implements ServingCatalog {
  readonly snapshotId = null;
  readonly seq = 0;
  readonly version = 'partial';
  /** null: read, not in the catalog */
  private readonly known = new Map<string, ItemFacts | null>();
  private readonly missedIds = new Set<string>();
  /** by category ('' for all): the items read, most popular first, and the page size asked */
  private readonly lists = new Map<string, { items: ItemFacts[]; limit: number }>();
  private readonly missedLists = new Map<string, number>();

  /** `load`: start loading the isolate's full catalog; called once the request has its answer. */
  constructor(
    private readonly d1: D1Database,
    private readonly load: () => void = () => {},
  ) {}

  /** The request has its answer: the isolate may now load the full catalog. */
  answered(): void {
    this.load();
  }

  /** Items read so far (this view never knows the catalog's size). */
  get size(): number {
    return this.known.size;
  }

  /** Nothing was missed since the last fill: what the last pass answered is what the loaded catalog would. */
  get complete(): boolean {
    return this.missedIds.size === 0 && this.missedLists.size === 0;
  }

  facts(id: string): ItemFacts | undefined {
    const f = this.known.get(id);
    if (f === undefined) this.missedIds.add(id);
    return f ?? undefined;
  }

  has(id: string): boolean {
    return this.facts(id) !== undefined;
  }

  popular(n: number, ok: (f: ItemFacts) => boolean, category?: string): ItemFacts[] {
    return firstPassing(this.popularIter(category), n, ok);
  }

  *popularIter(category?: string): Generator<ItemFacts> {
    const key = category ?? '';
    const list = this.lists.get(key);
    if (!list) {
      this.missedLists.set(key, POPULAR_PAGE);
      return;
    }
    yield* list.items;
    // Ran off the end of a full page: there may be more.
    if (list.items.length === list.limit && list.limit < POPULAR_MAX) this.missedLists.set(key, Math.min(POPULAR_MAX, list.limit * 4));
  }

  categories(): string[] {
    const out = new Set<string>();
    for (const f of this.known.values()) if (f?.category) out.add(f.category);
    return [...out].sort();
  }

  /** Make these ids known before a pass (the history, the product in view), as if a pass had missed them. */
  want(ids: Iterable<string>): void {
    for (const id of ids) if (!this.known.has(id)) this.missedIds.add(id);
  }

  /** Read everything missed, in one D1 batch: the ids in one query, each popularity list in one. */
  async fill(): Promise<void> {
    const ids = [...this.missedIds];
    const lists = [...this.missedLists];
    this.missedIds.clear();
    this.missedLists.clear();
    if (!ids.length && !lists.length) return;
    const statements = [
      ...(ids.length ? [this.d1.prepare(`SELECT ${FACTS_COLUMNS} FROM items i WHERE i.id IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify(ids))] : []),
      // Every item at least as popular as the limit-th (ties at the cut included, so the order by
      // id below is the loaded catalog's); through the popularity index, not a scan of the table.
      ...lists.map(([category, limit]) => {
        const where = category ? 'category = ?1 AND ' : '';
        return this.d1
          .prepare(
            `SELECT ${FACTS_COLUMNS} FROM items i WHERE ${where.replace('category', 'i.category')}i.popularity >=
               coalesce((SELECT popularity FROM items WHERE ${where}1 ORDER BY popularity DESC LIMIT 1 OFFSET ?2 - 1), -1e308)`,
          )
          .bind(category || null, limit);
      }),
    ];
    const results = await this.d1.batch<FactsRow>(statements);
    let r = 0;
    if (ids.length) {
      const found = results[r++]!;
      countRead('partial', found);
      for (const id of ids) this.known.set(id, null);
      for (const row of found.results) this.known.set(row.id, factsOf(row));
    }
    for (const [category, limit] of lists) {
      const found = results[r++]!;
      countRead('partial', found);
      const items = found.results.map(factsOf).sort(before).slice(0, limit);
      for (const f of items) this.known.set(f.id, f);
      this.lists.set(category, { items, limit });
    }
  }
}
