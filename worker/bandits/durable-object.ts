/**
 * Bandit state shard (SQLite-backed Durable Object). Each bandit experiment has `shards`
 * objects named "<experiment>#<n>"; ingestion sends each batch of attributed outcomes to one
 * shard, and isolates read the sum over all shards every few seconds (worker/bandits/client.ts).
 * So no single object sees every request, and none is on the recommendation hot path.
 */
import { DurableObject } from 'cloudflare:workers';
import type { ArmCounts } from './thompson';

export interface BanditDelta {
  context: string;
  arm: string;
  trials: number;
  successes: number;
}

export interface ShardSnapshot {
  /** context -> arm -> counts */
  counts: Record<string, Record<string, ArmCounts>>;
  batches: number;
}

export class BanditShard extends DurableObject<Env> {
  private sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS counts (context TEXT NOT NULL, arm TEXT NOT NULL, trials INTEGER NOT NULL, successes INTEGER NOT NULL, PRIMARY KEY (context, arm));
      CREATE TABLE IF NOT EXISTS applied (batch_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
    `);
  }

  /** Add a batch of outcome counts; a retried batch (same id) is applied once. */
  async update(batchId: string, deltas: BanditDelta[]): Promise<boolean> {
    if (this.sql.exec('SELECT 1 FROM applied WHERE batch_id = ?', batchId).toArray().length) return false;
    for (const d of deltas) {
      if (d.trials <= 0 && d.successes <= 0) continue;
      this.sql.exec(
        'INSERT INTO counts (context, arm, trials, successes) VALUES (?, ?, ?, ?) ON CONFLICT(context, arm) DO UPDATE SET trials = trials + excluded.trials, successes = successes + excluded.successes',
        d.context,
        d.arm,
        Math.max(0, d.trials),
        Math.max(0, d.successes),
      );
    }
    const now = Date.now();
    this.sql.exec('INSERT INTO applied (batch_id, at) VALUES (?, ?)', batchId, now);
    // Batch ids only need remembering for as long as a retry could come.
    this.sql.exec('DELETE FROM applied WHERE at < ?', now - 3600_000);
    return true;
  }

  async snapshot(): Promise<ShardSnapshot> {
    const counts: ShardSnapshot['counts'] = {};
    for (const r of this.sql.exec<{ context: string; arm: string; trials: number; successes: number }>('SELECT context, arm, trials, successes FROM counts')) {
      (counts[r.context] ??= {})[r.arm] = { trials: r.trials, successes: r.successes };
    }
    const batches = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM applied').one().n;
    return { counts, batches };
  }
}
