/**
 * Reading the catalog change log: the rows past a seq, joined with the items' current state.
 * A change whose item is gone from `items` is a removal.
 */
import { isDeal } from './deal-tags';
import type { Change } from './catalog-view';
import type { ItemFacts } from './types';
import { countRead } from './read-stats';

export const CHANGES_PAGE = 5000;

/** An items row as the serving catalog reads it (the columns facts are made of). */
export interface FactsRow {
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  in_stock: number | null;
  popularity: number | null;
  tags: string | null;
}

/** The columns of `items` (alias i) that make an item's facts. */
export const FACTS_COLUMNS = 'i.id AS id, i.category AS category, i.brand AS brand, i.price AS price, i.in_stock AS in_stock, i.popularity AS popularity, i.tags AS tags';

interface ChangeRow extends Omit<FactsRow, 'id'> {
  seq: number;
  change_id: string;
  id: string | null;
}

export function changesStatement(d1: D1Database, after: number, limit = CHANGES_PAGE): D1PreparedStatement {
  return d1
    .prepare(
      `SELECT c.seq AS seq, c.item_id AS change_id, ${FACTS_COLUMNS}
         FROM catalog_changes c LEFT JOIN items i ON i.id = c.item_id
        WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2`,
    )
    .bind(after, limit);
}

function tagsOf(json: string | null): string[] {
  try {
    const v = JSON.parse(json ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** Counted (read-stats) and turned into changes. */
export function toChanges(result: D1Result<unknown>): Change[] {
  countRead('delta', result);
  return (result.results as ChangeRow[]).map((r) => ({
    seq: r.seq,
    id: r.change_id,
    item: r.id === null ? null : factsOf({ ...r, id: r.id }),
  }));
}

export function factsOf(r: FactsRow): ItemFacts {
  return { id: r.id, category: r.category, brand: r.brand, price: r.price, inStock: !!r.in_stock, popularity: r.popularity ?? 0, deal: isDeal(tagsOf(r.tags)) };
}

export async function readChanges(d1: D1Database, after: number, limit = CHANGES_PAGE): Promise<Change[]> {
  return toChanges(await changesStatement(d1, after, limit).all());
}
