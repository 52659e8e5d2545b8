/**
 * The isolate side of bandits. Posteriors come from a per-isolate snapshot (the sum over an
 * experiment's shard objects), refreshed in the background every BANDIT_TTL_MS; a cold isolate
 * answers from the uniform prior while its first snapshot loads. Updates go to one randomly
 * chosen shard per ingested batch.
 */
import type { Experiment } from '../experiments/config';
import type { BanditDelta, BanditShard, ShardSnapshot } from './durable-object';
import type { ArmCounts } from './thompson';
import { log } from '../ops/log';

export type ContextCounts = Record<string, Record<string, ArmCounts>>;

interface Entry {
  counts: ContextCounts;
  at: number;
  loading?: Promise<ContextCounts>;
}

const snapshots = new Map<string, Entry>();

function stub(env: Env, experimentId: string, shard: number): DurableObjectStub<BanditShard> {
  return env.BANDITS.get(env.BANDITS.idFromName(`${experimentId}#${shard}`));
}

export function mergeSnapshots(parts: ShardSnapshot[]): ContextCounts {
  const out: ContextCounts = {};
  for (const p of parts) {
    for (const [ctx, arms] of Object.entries(p.counts)) {
      const o = (out[ctx] ??= {});
      for (const [arm, c] of Object.entries(arms)) {
        const prev = o[arm] ?? { trials: 0, successes: 0 };
        o[arm] = { trials: prev.trials + c.trials, successes: prev.successes + c.successes };
      }
    }
  }
  return out;
}

/** Read every shard now (admin report, simulation checks) and refresh this isolate's snapshot. */
export async function readBanditCounts(env: Env, exp: Pick<Experiment, 'id' | 'bandit'>): Promise<ContextCounts> {
  const parts = await Promise.all(Array.from({ length: exp.bandit.shards }, (_, i) => stub(env, exp.id, i).snapshot()));
  const counts = mergeSnapshots(parts);
  snapshots.set(exp.id, { counts, at: Date.now() });
  return counts;
}

const ttl = (env: Env) => {
  const v = Number((env as { BANDIT_TTL_MS?: string }).BANDIT_TTL_MS);
  return Number.isFinite(v) && v >= 0 ? v : 3000;
};

/** The cached posterior counts; never waits on a Durable Object. */
export function cachedBanditCounts(env: Env, exp: Pick<Experiment, 'id' | 'bandit'>, waitUntil?: (p: Promise<unknown>) => void): ContextCounts {
  let e = snapshots.get(exp.id);
  if (!e) {
    e = { counts: {}, at: 0 };
    snapshots.set(exp.id, e);
  }
  if (Date.now() - e.at > ttl(env) && !e.loading) {
    const entry = e;
    entry.loading = readBanditCounts(env, exp)
      .catch((err: Error) => {
        log('warn', 'bandit_snapshot_failed', { experiment: exp.id, error: err.message });
        entry.at = Date.now(); // keep the old snapshot; retry after the TTL
        return entry.counts;
      })
      .finally(() => (entry.loading = undefined));
    waitUntil?.(entry.loading);
  }
  return snapshots.get(exp.id)!.counts;
}

/** Send one batch of attributed outcomes to one shard, chosen at random. */
export async function sendBanditUpdates(env: Env, exp: Pick<Experiment, 'id' | 'bandit'>, deltas: BanditDelta[], batchId: string): Promise<void> {
  if (!deltas.length) return;
  const shard = Math.floor(Math.random() * exp.bandit.shards);
  await stub(env, exp.id, shard).update(batchId, deltas);
  // This isolate's own view follows its writes at once.
  const e = snapshots.get(exp.id);
  if (e) {
    for (const d of deltas) {
      const o = (e.counts[d.context] ??= {});
      const prev = o[d.arm] ?? { trials: 0, successes: 0 };
      o[d.arm] = { trials: prev.trials + d.trials, successes: prev.successes + d.successes };
    }
  }
}

export function forgetBanditSnapshot(experimentId: string): void {
  snapshots.delete(experimentId);
}
