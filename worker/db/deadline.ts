/**
 * A time limit on every D1 call. A D1 that hangs must not hang requests, and must not wedge
 * the per-isolate caches (catalog, model registry, slot configs) that share one in-flight read:
 * a call that has not settled after `ms` rejects with a D1TimeoutError, which callers treat like
 * any other D1 error (stale cache, fallback, event buffer, 503).
 */
import { positiveVar } from '../lib/vars';

export class D1TimeoutError extends Error {
  constructor(ms: number) {
    super(`D1 did not answer within ${ms} ms`);
    this.name = 'D1TimeoutError';
  }
}

export const DEFAULT_D1_TIMEOUT_MS = 5000;

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new D1TimeoutError(ms)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** The limit of one wrapped binding (set from the environment on each request). */
interface Limit {
  ms: number;
}

class LimitedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly limit: Limit,
  ) {}
  bind(...values: unknown[]) {
    return new LimitedStatement(this.inner.bind(...values), this.limit);
  }
  first(column?: string) {
    return within(column === undefined ? this.inner.first() : this.inner.first(column), this.limit.ms);
  }
  run() {
    return within(this.inner.run(), this.limit.ms);
  }
  all() {
    return within(this.inner.all(), this.limit.ms);
  }
  raw(options?: { columnNames?: boolean }) {
    return within(this.inner.raw(options as { columnNames: true }), this.limit.ms);
  }
}

const unwrap = (s: D1PreparedStatement) => (s instanceof LimitedStatement ? s.inner : s) as D1PreparedStatement;

// One wrapper per binding, so caches keyed by the D1 object (catalog snapshot, drizzle client)
// keep working across requests.
const wrappers = new WeakMap<D1Database, { limit: Limit; db: D1Database }>();

export function withDeadline(d1: D1Database, ms: number): D1Database {
  if (!(ms > 0) || !d1) return d1;
  let w = wrappers.get(d1);
  if (!w) {
    const limit: Limit = { ms };
    const db = {
      prepare: (query: string) => new LimitedStatement(d1.prepare(query), limit) as unknown as D1PreparedStatement,
      batch: (stmts: D1PreparedStatement[]) => within(d1.batch(stmts.map(unwrap)), limit.ms),
      exec: (query: string) => within(d1.exec(query), limit.ms),
      withSession: (c?: string) => d1.withSession(c as never),
    } as unknown as D1Database;
    wrappers.set(d1, (w = { limit, db }));
  }
  w.limit.ms = ms;
  return w.db;
}

export function d1TimeoutMs(env: { D1_TIMEOUT_MS?: string }): number {
  return positiveVar(env.D1_TIMEOUT_MS, DEFAULT_D1_TIMEOUT_MS);
}
