/**
 * OpsState: one SQLite-backed Durable Object per deployment ("ops") holding
 *  - per-minute aggregates of requests and served recommendations (kept 3 hours),
 *  - per-rollout canary counters, and the canary decision (it serialises evaluations),
 *  - drift detector state.
 * Workers send buffered metric points through waitUntil (worker/ops/metrics.ts), not to "ops"
 * itself but to one of METRICS_SHARDS shard objects of this same class ("ops-shard-<k>", each
 * isolate picks one): a shard sums what it receives into the same tables and every
 * METRICS_ROLLUP_MS hands its rows to "ops" in one call (absorb) and deletes them. So "ops" gets
 * a few calls per rollup period whatever the number of isolates, and the summary, the canary
 * rule and drift read one place. A shard that could not hand its rows over keeps them for the
 * next rollup (its alarm makes sure there is one).
 */
import { DurableObject } from 'cloudflare:workers';
import type { RolloutRow } from '../db/schema';
import { runningRollout } from '../inference/registry';
import { emptyArm, evaluateRollout, ruleOf, type Decision } from './canary';
import type { Point } from './metrics';

/** Latency histogram upper bounds (ms); the last bucket is open. */
export const LATENCY_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, Infinity];
const KEEP_MS = 3 * 3600_000;
/** Re-evaluate a canary every this many canary requests once it has reached min_requests. */
const EVALUATE_EVERY = 25;

// One row per key; `excluded` holds a batch's sums (worker/ops/metrics.ts buffers points per isolate).
// Per table: its upsert, its key columns and its summed columns, in row order (ms_max, a maximum, last).
const TABLES = {
  req_minute: {
    upsert: `INSERT INTO req_minute VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n, ms_sum = ms_sum + excluded.ms_sum, ms_max = max(ms_max, excluded.ms_max)`,
    keys: ['minute', 'route', 'status'],
    sums: ['n', 'ms_sum'],
    max: 'ms_max',
  },
  lat_minute: { upsert: `INSERT INTO lat_minute VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`, keys: ['minute', 'route', 'bucket'], sums: ['n'] },
  serve_minute: {
    upsert: `INSERT INTO serve_minute VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n, fallbacks = fallbacks + excluded.fallbacks, errors = errors + excluded.errors, score_sum = score_sum + excluded.score_sum, score_n = score_n + excluded.score_n`,
    keys: ['minute', 'slot', 'model', 'arm'],
    sums: ['n', 'fallbacks', 'errors', 'score_sum', 'score_n'],
  },
  cat_minute: { upsert: `INSERT INTO cat_minute VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`, keys: ['minute', 'category'], sums: ['n'] },
  canary: {
    upsert: `INSERT INTO canary VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n, errors = errors + excluded.errors, fallbacks = fallbacks + excluded.fallbacks`,
    keys: ['rollout', 'arm'],
    sums: ['n', 'errors', 'fallbacks'],
  },
} satisfies Record<string, { upsert: string; keys: string[]; sums: string[]; max?: string }>;
type Table = keyof typeof TABLES;
/** Rows to upsert, per table, each in its table's column order: what a shard hands to "ops". */
export type MetricRows = Partial<Record<Table, (string | number)[][]>>;

export const SHARD_PREFIX = 'ops-shard-';
const DEFAULT_ROLLUP_MS = 10_000;

const minuteOf = (t: number) => Math.floor(t / 60_000) * 60_000;
const bucketOf = (ms: number) => LATENCY_BUCKETS.findIndex((b) => ms <= b);

export interface RouteSummary {
  requests: number;
  by_status: Record<string, number>;
  error_rate: number;
  avg_ms: number;
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number;
}

export interface MetricsSummary {
  window: { from: number; to: number; minutes: number };
  requests: { total: number; error_rate: number; routes: Record<string, RouteSummary> };
  recommendations: {
    total: number;
    fallbacks: number;
    fallback_rate: number;
    errors: number;
    error_rate: number;
    by_model: Record<string, { requests: number; fallback_rate: number; error_rate: number }>;
    by_slot: Record<string, { requests: number; fallback_rate: number }>;
    by_arm: Record<string, { requests: number; fallback_rate: number; error_rate: number }>;
    avg_top_score: number | null;
    categories: Record<string, number>;
  };
}

/** Distinct slot names kept per hour of metrics; further names are counted under OTHER_SLOTS. */
export const MAX_SLOT_LABELS = 200;
export const OTHER_SLOTS = '(other)';

export class OpsState extends DurableObject<Env> {
  private sql: SqlStorage;
  private rollout?: RolloutRow | null;
  private lastEvaluated = new Map<string, number>();
  private lastPrune = 0;
  /** Slot labels in serve_minute (loaded lazily, reset on prune): slot names come from requests. */
  private slotLabels?: Set<string>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS req_minute (minute INTEGER NOT NULL, route TEXT NOT NULL, status INTEGER NOT NULL, n INTEGER NOT NULL, ms_sum REAL NOT NULL, ms_max REAL NOT NULL, PRIMARY KEY (minute, route, status));
      CREATE TABLE IF NOT EXISTS lat_minute (minute INTEGER NOT NULL, route TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, route, bucket));
      CREATE TABLE IF NOT EXISTS serve_minute (minute INTEGER NOT NULL, slot TEXT NOT NULL, model TEXT NOT NULL, arm TEXT NOT NULL, n INTEGER NOT NULL, fallbacks INTEGER NOT NULL, errors INTEGER NOT NULL, score_sum REAL NOT NULL, score_n INTEGER NOT NULL, PRIMARY KEY (minute, slot, model, arm));
      CREATE TABLE IF NOT EXISTS cat_minute (minute INTEGER NOT NULL, category TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (minute, category));
      CREATE TABLE IF NOT EXISTS canary (rollout TEXT NOT NULL, arm TEXT NOT NULL, n INTEGER NOT NULL, errors INTEGER NOT NULL, fallbacks INTEGER NOT NULL, PRIMARY KEY (rollout, arm));
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  private get isShard(): boolean {
    return (this.ctx.id.name ?? '').startsWith(SHARD_PREFIX);
  }

  /**
   * Add a batch of points. On "ops": then apply the canary rule if canary traffic arrived. On a
   * shard: hand everything to "ops" once METRICS_ROLLUP_MS has passed since the last handover.
   */
  async record(points: Point[]): Promise<Decision | null> {
    // A batch holds up to a second of an isolate's traffic: sum it per row first, then one upsert
    // per row (not one or more per point: that made the metrics object cost more than the requests).
    const rows = new Map<Table, Map<string, { key: (string | number)[]; vals: number[]; max?: number }>>();
    const add = (t: Table, key: (string | number)[], vals: number[], max?: number) => {
      let table = rows.get(t);
      if (!table) rows.set(t, (table = new Map()));
      const id = JSON.stringify(key);
      const r = table.get(id);
      if (!r) table.set(id, { key, vals: [...vals], max });
      else {
        vals.forEach((v, i) => (r.vals[i]! += v));
        if (max !== undefined) r.max = Math.max(r.max ?? max, max);
      }
    };
    for (const p of points) {
      const m = minuteOf(p.t);
      if (p.kind === 'request') {
        add('req_minute', [m, p.route, p.status], [1, p.ms], p.ms);
        add('lat_minute', [m, p.route, bucketOf(p.ms)], [1]);
      } else {
        const scored = p.topScore !== null && Number.isFinite(p.topScore);
        add('serve_minute', [m, this.slotLabel(p.slot), p.model ?? '', p.arm ?? ''], [1, p.fallback ? 1 : 0, p.error ? 1 : 0, scored ? p.topScore! : 0, scored ? 1 : 0]);
        for (const [c, n] of Object.entries(p.categories)) add('cat_minute', [m, c], [n]);
        if (p.rollout && p.arm) add('canary', [p.rollout, p.arm], [1, p.error ? 1 : 0, p.fallback ? 1 : 0]);
      }
    }
    const batch: MetricRows = {};
    for (const [t, table] of rows) batch[t] = [...table.values()].map((r) => [...r.key, ...r.vals, ...(r.max !== undefined ? [r.max] : [])]);
    if (!this.isShard) return this.absorb(batch);
    this.upsert(batch);
    await this.maybeRollup();
    return null;
  }

  /** "ops": rows summed by a shard (or by record()); then the canary rule for rollouts that got traffic. */
  async absorb(batch: MetricRows): Promise<Decision | null> {
    this.upsert(batch);
    this.prune();
    let decision: Decision | null = null;
    for (const id of new Set((batch.canary ?? []).map((r) => String(r[0])))) decision = (await this.maybeEvaluate(id, false)) ?? decision;
    return decision;
  }

  private upsert(batch: MetricRows): void {
    for (const [t, list] of Object.entries(batch) as [Table, (string | number)[][]][]) for (const row of list) this.sql.exec(TABLES[t].upsert, ...row);
  }

  private lastRollup = 0;

  /** A shard's handover: every row it holds goes to "ops" in one call, then is deleted here. */
  private async maybeRollup(force = false): Promise<void> {
    const every = Number(this.env.METRICS_ROLLUP_MS ?? DEFAULT_ROLLUP_MS);
    const now = Date.now();
    if (!force && now - this.lastRollup < every) {
      // Rows left behind are handed over by the alarm, even if no more points arrive.
      if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + Math.max(every, 1000));
      return;
    }
    this.lastRollup = now;
    const batch: MetricRows = {};
    for (const [t, spec] of Object.entries(TABLES) as [Table, { keys: string[]; sums: string[]; max?: string }][]) {
      const columns = [...spec.keys, ...spec.sums, ...(spec.max ? [spec.max] : [])].join(', ');
      const list = [...this.sql.exec(`SELECT ${columns} FROM ${t}`).raw()] as (string | number)[][];
      if (list.length) batch[t] = list;
    }
    if (!Object.keys(batch).length) return;
    await this.env.OPS.get(this.env.OPS.idFromName('ops')).absorb(batch);
    // Handed over (an error above keeps them for the next try). Points that arrived during the
    // call were added to these rows too: only the amounts handed over are taken off.
    for (const [t, list] of Object.entries(batch) as [Table, (string | number)[][]][]) this.subtract(t, list);
  }

  private subtract(t: Table, list: (string | number)[][]): void {
    const { keys, sums }: { keys: string[]; sums: string[] } = TABLES[t];
    const where = keys.map((k) => `${k} = ?`).join(' AND ');
    for (const row of list) {
      const keyVals = row.slice(0, keys.length);
      const amounts = row.slice(keys.length, keys.length + sums.length);
      this.sql.exec(`UPDATE ${t} SET ${sums.map((v) => `${v} = ${v} - ?`).join(', ')} WHERE ${where}`, ...amounts, ...keyVals);
      this.sql.exec(`DELETE FROM ${t} WHERE ${where} AND n <= 0`, ...keyVals);
    }
  }

  override async alarm(): Promise<void> {
    if (this.isShard) await this.maybeRollup(true);
  }

  /** The slot's own name while fewer than MAX_SLOT_LABELS are kept, else OTHER_SLOTS: invented names cannot grow the tables. */
  private slotLabel(slot: string): string {
    this.slotLabels ??= new Set(this.sql.exec<{ slot: string }>('SELECT DISTINCT slot FROM serve_minute').toArray().map((r) => r.slot));
    if (this.slotLabels.has(slot)) return slot;
    if (this.slotLabels.size >= MAX_SLOT_LABELS) return OTHER_SLOTS;
    this.slotLabels.add(slot);
    return slot;
  }

  private prune(): void {
    const now = Date.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    const cut = now - KEEP_MS;
    for (const t of ['req_minute', 'lat_minute', 'serve_minute', 'cat_minute']) this.sql.exec(`DELETE FROM ${t} WHERE minute < ?`, cut);
    this.slotLabels = undefined;
  }

  canaryCounts(rolloutId: string): Record<'canary' | 'stable', { requests: number; errors: number; fallbacks: number }> {
    const out = { canary: emptyArm(), stable: emptyArm() };
    for (const r of this.sql.exec<{ arm: string; n: number; errors: number; fallbacks: number }>('SELECT arm, n, errors, fallbacks FROM canary WHERE rollout = ?', rolloutId)) {
      if (r.arm === 'canary' || r.arm === 'stable') out[r.arm] = { requests: r.n, errors: r.errors, fallbacks: r.fallbacks };
    }
    return out;
  }

  private async currentRollout(id: string | null, refresh: boolean): Promise<RolloutRow | null> {
    if (refresh || this.rollout === undefined || (id && this.rollout?.id !== id)) this.rollout = (await runningRollout(this.env.DB)) ?? null;
    return this.rollout;
  }

  /** Evaluate the running rollout (rate-limited unless `force`); `trigger` is logged with a decision. */
  private async maybeEvaluate(id: string | null, force: boolean, trigger = 'traffic'): Promise<Decision | null> {
    const rollout = await this.currentRollout(id, force);
    if (!rollout || (id && rollout.id !== id)) return null;
    const counts = this.canaryCounts(rollout.id);
    const rule = ruleOf(rollout);
    if (counts.canary.requests < rule.min_requests) return null;
    const last = this.lastEvaluated.get(rollout.id) ?? -Infinity;
    if (!force && counts.canary.requests - last < EVALUATE_EVERY) return null;
    this.lastEvaluated.set(rollout.id, counts.canary.requests);
    const d = await evaluateRollout(this.env, rollout, counts, trigger);
    if (d.action !== 'wait') this.rollout = undefined;
    return d;
  }

  /** The cron job's entry: evaluate whatever rollout is running, now. */
  async evaluateCanary(): Promise<Decision | null> {
    return this.maybeEvaluate(null, true, 'cron');
  }

  summary(windowMs = 3600_000, now = Date.now()): MetricsSummary {
    const from = minuteOf(now - windowMs) + 60_000;
    const routes = dict<RouteSummary>();
    let total = 0;
    let errors5xx = 0;
    for (const r of this.sql.exec<{ route: string; status: number; n: number; ms_sum: number; ms_max: number }>(
      'SELECT route, status, sum(n) AS n, sum(ms_sum) AS ms_sum, max(ms_max) AS ms_max FROM req_minute WHERE minute >= ? GROUP BY route, status',
      from,
    )) {
      const s = (routes[r.route] ??= { requests: 0, by_status: {}, error_rate: 0, avg_ms: 0, p50_ms: null, p95_ms: null, max_ms: 0 });
      s.requests += r.n;
      s.by_status[String(r.status)] = (s.by_status[String(r.status)] ?? 0) + r.n;
      s.avg_ms += r.ms_sum;
      s.max_ms = Math.max(s.max_ms, r.ms_max);
      if (r.status >= 500) {
        s.error_rate += r.n;
        errors5xx += r.n;
      }
      total += r.n;
    }
    const hist = new Map<string, number[]>();
    for (const r of this.sql.exec<{ route: string; bucket: number; n: number }>('SELECT route, bucket, sum(n) AS n FROM lat_minute WHERE minute >= ? GROUP BY route, bucket', from)) {
      const h = hist.get(r.route) ?? LATENCY_BUCKETS.map(() => 0);
      h[r.bucket] = r.n;
      hist.set(r.route, h);
    }
    for (const [route, s] of Object.entries(routes)) {
      s.avg_ms = round(s.avg_ms / s.requests);
      s.error_rate = round(s.error_rate / s.requests, 4);
      s.max_ms = round(s.max_ms);
      const h = hist.get(route);
      if (h) {
        s.p50_ms = quantile(h, 0.5);
        s.p95_ms = quantile(h, 0.95);
      }
    }
    const rec = { total: 0, fallbacks: 0, errors: 0, score_sum: 0, score_n: 0 };
    const byModel: MetricsSummary['recommendations']['by_model'] = dict();
    const bySlot: MetricsSummary['recommendations']['by_slot'] = dict();
    const byArm: MetricsSummary['recommendations']['by_arm'] = dict();
    for (const r of this.sql.exec<{ slot: string; model: string; arm: string; n: number; fallbacks: number; errors: number; score_sum: number; score_n: number }>(
      'SELECT slot, model, arm, sum(n) AS n, sum(fallbacks) AS fallbacks, sum(errors) AS errors, sum(score_sum) AS score_sum, sum(score_n) AS score_n FROM serve_minute WHERE minute >= ? GROUP BY slot, model, arm',
      from,
    )) {
      rec.total += r.n;
      rec.fallbacks += r.fallbacks;
      rec.errors += r.errors;
      rec.score_sum += r.score_sum;
      rec.score_n += r.score_n;
      const model = r.model || '(fallback)';
      const m = (byModel[model] ??= { requests: 0, fallback_rate: 0, error_rate: 0 });
      m.requests += r.n;
      m.fallback_rate += r.fallbacks;
      m.error_rate += r.errors;
      const s = (bySlot[r.slot] ??= { requests: 0, fallback_rate: 0 });
      s.requests += r.n;
      s.fallback_rate += r.fallbacks;
      if (r.arm) {
        const a = (byArm[r.arm] ??= { requests: 0, fallback_rate: 0, error_rate: 0 });
        a.requests += r.n;
        a.fallback_rate += r.fallbacks;
        a.error_rate += r.errors;
      }
    }
    for (const m of [...Object.values(byModel), ...Object.values(byArm)]) {
      m.fallback_rate = round(m.fallback_rate / m.requests, 4);
      m.error_rate = round(m.error_rate / m.requests, 4);
    }
    for (const s of Object.values(bySlot)) s.fallback_rate = round(s.fallback_rate / s.requests, 4);
    const categories = dict<number>();
    for (const r of this.sql.exec<{ category: string; n: number }>('SELECT category, sum(n) AS n FROM cat_minute WHERE minute >= ? GROUP BY category ORDER BY n DESC LIMIT 50', from)) {
      categories[r.category] = r.n;
    }
    return {
      window: { from, to: now, minutes: Math.round(windowMs / 60_000) },
      requests: { total, error_rate: total ? round(errors5xx / total, 4) : 0, routes: plain(routes) },
      recommendations: {
        total: rec.total,
        fallbacks: rec.fallbacks,
        fallback_rate: rec.total ? round(rec.fallbacks / rec.total, 4) : 0,
        errors: rec.errors,
        error_rate: rec.total ? round(rec.errors / rec.total, 4) : 0,
        by_model: plain(byModel),
        by_slot: plain(bySlot),
        by_arm: plain(byArm),
        avg_top_score: rec.score_n ? round(rec.score_sum / rec.score_n, 6) : null,
        categories: plain(categories),
      },
    };
  }

  /** Served-recommendation aggregates since `since` (drift detection input). */
  servedSince(since: number): { minutes: number; requests: number; scoreSum: number; scoreN: number; categories: Record<string, number> } {
    const r = this.sql.exec<{ n: number | null; s: number | null; c: number | null; minutes: number }>(
      'SELECT sum(n) AS n, sum(score_sum) AS s, sum(score_n) AS c, count(DISTINCT minute) AS minutes FROM serve_minute WHERE minute >= ?',
      since,
    ).one();
    const categories = dict<number>();
    for (const c of this.sql.exec<{ category: string; n: number }>('SELECT category, sum(n) AS n FROM cat_minute WHERE minute >= ? GROUP BY category', since)) categories[c.category] = c.n;
    return { minutes: r.minutes, requests: r.n ?? 0, scoreSum: r.s ?? 0, scoreN: r.c ?? 0, categories: plain(categories) };
  }

  getState<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM kv WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  putState(key: string, value: unknown): void {
    this.sql.exec('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, JSON.stringify(value));
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Upper bound of the bucket holding quantile q (null for the open last bucket's "> 2500"). */
function quantile(hist: number[], q: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (!total) return null;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= q * total) return Number.isFinite(LATENCY_BUCKETS[i]!) ? LATENCY_BUCKETS[i]! : null;
  }
  return null;
}

/**
 * Slot names come from shoppers' requests: a slot called "__proto__" must be a key like any
 * other, not a way to write to Object.prototype (`bySlot[slot] ??= …; bySlot[slot].requests += …`).
 */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** RPC cannot clone null-prototype objects; a copy made with fromEntries keeps "__proto__" an own key. */
function plain<T>(d: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(d));
}
