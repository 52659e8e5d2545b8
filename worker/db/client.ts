import { drizzle } from 'drizzle-orm/d1';
import type { BatchItem } from 'drizzle-orm/batch';
import * as schema from './schema';

export type Db = ReturnType<typeof db>;

const cache = new WeakMap<D1Database, ReturnType<typeof drizzle<typeof schema>>>();

/** One drizzle instance per D1 binding per isolate. */
export function db(d1: D1Database) {
  let d = cache.get(d1);
  if (!d) {
    d = drizzle(d1, { schema });
    cache.set(d1, d);
  }
  return d;
}

/** D1 allows at most 100 bound parameters per statement. */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.floor(100 / columns));
}

export function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** drizzle's batch() wants a non-empty tuple; this takes any list of statements. */
export async function runBatch(d: Db, stmts: BatchItem<'sqlite'>[]): Promise<unknown[]> {
  if (!stmts.length) return [];
  return d.batch(stmts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}
