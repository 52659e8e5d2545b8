/** Experiments in D1: create, edit (drafts), lifecycle, and a per-isolate cache of running ones. */
import { and, desc, eq, inArray } from 'drizzle-orm';
import { db } from '../db/client';
import { experiments, meta, type ExperimentRow } from '../db/schema';
import { ApiError } from '../lib/errors';
import { TtlCache } from '../lib/ttl-cache';
import { ExperimentInputSchema, type Experiment, type ExperimentInput, type ExperimentStatus } from './config';
import { log } from '../ops/log';

export const HOLDOUT_KEY = 'experiments.global_holdout';

export function toExperiment(row: ExperimentRow): Experiment {
  const cfg = ExperimentInputSchema.parse(row.config);
  return {
    ...cfg,
    id: row.id,
    slot: row.slot,
    kind: row.kind,
    status: row.status,
    salt: row.salt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    started_at: row.startedAt,
    stopped_at: row.stoppedAt,
  };
}

export async function listExperiments(d1: D1Database): Promise<Experiment[]> {
  const rows = await db(d1).select().from(experiments).orderBy(desc(experiments.createdAt)).all();
  return rows.map(toExperiment);
}

export async function getExperiment(d1: D1Database, id: string): Promise<Experiment> {
  const row = await db(d1).select().from(experiments).where(eq(experiments.id, id)).get();
  if (!row) throw new ApiError(404, 'not_found', `experiment "${id}" does not exist`);
  return toExperiment(row);
}

function randomSalt(): string {
  const b = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function createExperiment(d1: D1Database, input: ExperimentInput): Promise<Experiment> {
  const now = Date.now();
  const rows = await db(d1)
    .insert(experiments)
    .values({ id: input.id, slot: input.slot, kind: input.kind, status: 'draft', salt: randomSalt(), config: input as unknown as Record<string, unknown>, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: experiments.id })
    .returning();
  if (!rows.length) throw new ApiError(409, 'conflict', `experiment "${input.id}" already exists`);
  return toExperiment(rows[0]!);
}

/** Only drafts can change: a running experiment's variants and weights are fixed. */
export async function updateExperiment(d1: D1Database, id: string, input: ExperimentInput): Promise<Experiment> {
  const cur = await getExperiment(d1, id);
  if (cur.status !== 'draft') throw new ApiError(409, 'conflict', `experiment "${id}" is ${cur.status}; only drafts can be edited (create a new experiment instead)`);
  const rows = await db(d1)
    .update(experiments)
    .set({ slot: input.slot, kind: input.kind, config: { ...input, id } as unknown as Record<string, unknown>, updatedAt: Date.now() })
    .where(and(eq(experiments.id, id), eq(experiments.status, 'draft')))
    .returning();
  if (!rows.length) throw new ApiError(409, 'conflict', `experiment "${id}" changed concurrently`);
  return toExperiment(rows[0]!);
}

const TRANSITIONS: Record<'start' | 'pause' | 'stop', { from: ExperimentStatus[]; to: ExperimentStatus }> = {
  start: { from: ['draft', 'paused'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  stop: { from: ['draft', 'running', 'paused'], to: 'stopped' },
};

export async function transition(d1: D1Database, id: string, action: keyof typeof TRANSITIONS): Promise<Experiment> {
  const cur = await getExperiment(d1, id);
  const t = TRANSITIONS[action];
  if (!t.from.includes(cur.status)) throw new ApiError(409, 'conflict', `cannot ${action} experiment "${id}": it is ${cur.status}`);
  if (action === 'start') {
    const other = await db(d1)
      .select({ id: experiments.id })
      .from(experiments)
      .where(and(eq(experiments.slot, cur.slot), inArray(experiments.status, ['running'])))
      .get();
    if (other && other.id !== id) throw new ApiError(409, 'conflict', `slot "${cur.slot}" already runs experiment "${other.id}"; pause or stop it first`);
  }
  const now = Date.now();
  const rows = await db(d1)
    .update(experiments)
    .set({
      status: t.to,
      updatedAt: now,
      ...(action === 'start' && cur.started_at === null ? { startedAt: now } : {}),
      ...(action === 'stop' ? { stoppedAt: now } : {}),
    })
    .where(and(eq(experiments.id, id), eq(experiments.status, cur.status)))
    .returning();
  if (!rows.length) throw new ApiError(409, 'conflict', `experiment "${id}" changed concurrently`);
  invalidateRunning();
  return toExperiment(rows[0]!);
}

export interface RunningState {
  bySlot: Map<string, Experiment>;
  /** share of shoppers kept out of every experiment and shown the unpersonalized control */
  holdout: number;
}

const running = new TtlCache<RunningState>(5000);

async function readRunning(d1: D1Database): Promise<RunningState> {
  const d = db(d1);
  const [rows, h] = await d.batch([
    d.select().from(experiments).where(eq(experiments.status, 'running')),
    d.select({ value: meta.value }).from(meta).where(eq(meta.key, HOLDOUT_KEY)),
  ]);
  const bySlot = new Map<string, Experiment>();
  for (const r of rows) {
    try {
      bySlot.set(r.slot, toExperiment(r));
    } catch (e) {
      log('error', 'experiment_config_invalid', { id: r.id, error: (e as Error).message });
    }
  }
  const holdout = Number(h[0]?.value ?? 0);
  return { bySlot, holdout: Number.isFinite(holdout) ? holdout : 0 };
}

/** Running experiments by slot, per isolate (re-read every 5 s in the background). Never throws. */
export function getRunning(d1: D1Database, waitUntil?: (p: Promise<unknown>) => void): Promise<RunningState> {
  return running.get('all', () => readRunning(d1), waitUntil).catch(() => ({ bySlot: new Map(), holdout: 0 }));
}

export function invalidateRunning(): void {
  running.delete('all');
}

export async function getHoldout(d1: D1Database): Promise<number> {
  const row = await db(d1).select({ value: meta.value }).from(meta).where(eq(meta.key, HOLDOUT_KEY)).get();
  return row ? Number(row.value) || 0 : 0;
}

export async function setHoldout(d1: D1Database, share: number): Promise<void> {
  await db(d1)
    .insert(meta)
    .values({ key: HOLDOUT_KEY, value: String(share) })
    .onConflictDoUpdate({ target: meta.key, set: { value: String(share) } });
  invalidateRunning();
}
