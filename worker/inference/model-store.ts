/**
 * The active model, per isolate. An isolate checks the registry at most every `ttlMs`
 * (in the background once a model is loaded), so a newly activated version is picked up
 * without a redeploy. A new version is verified (sha256 against the registry and the
 * manifest) and must load and match the contract before it replaces the old one; if it
 * fails, the old one keeps serving and the failure is reported in health.
 */
import { CONTRACT_VERSION, F, FILES, INPUTS, OUTPUTS, shardFile, type ModelLists, type ModelManifest } from '../../model/contract';
import { eq } from 'drizzle-orm';
import { db } from '../db/client';
import { models, type ModelRow, type RolloutRow } from '../db/schema';
import { r2Sha256 } from '../lib/digest';
import { fitShardBudget, forgetShards, shardCacheStats, type ShardSource } from './neighbours';
import { createSession, type ort } from './ort';
import { activeModel, markVerified, runningRollout } from './registry';
import { log } from '../ops/log';

export interface LoadedModel {
  version: string;
  manifest: ModelManifest;
  /** the rank graph */
  session: ort.InferenceSession;
  lists: ModelLists;
  /** where this version's neighbour shards are read from (worker/inference/neighbours.ts) */
  shards: ShardSource;
  loadedAt: number;
}

export interface ModelStatus {
  version: string | null;
  loadedAt: number | null;
  activeVersion: string | null;
  lastError: string | null;
  checkedAt: number;
  /** this isolate's neighbour-list caches: shard bytes held, shards read from R2, decoded entries */
  neighbours: ReturnType<typeof shardCacheStats>;
  /** bytes of the active version's files (manifest excluded) */
  artifactBytes: number | null;
  /** the running canary rollout as this isolate sees it (issue 7) */
  canary: { rolloutId: string; version: string; share: number; loaded: boolean; error: string | null } | null;
}

/** A running canary: `share` of traffic is scored by `model`; without `model` it failed to load (`error`). */
export interface CanaryServing {
  rolloutId: string;
  version: string;
  share: number;
  model?: LoadedModel;
  error: string | null;
}

interface State {
  model?: LoadedModel;
  activeVersion: string | null;
  checkedAt: number;
  refreshing?: Promise<void>;
  failed: Map<string, number>;
  lastError: string | null;
  waitNext?: boolean;
  canary?: CanaryServing;
}

const RETRY_FAILED_MS = 60_000;
const state: State = { activeVersion: null, checkedAt: 0, failed: new Map(), lastError: null };

async function readVerified(bucket: R2Bucket, key: string, sha: string, what: string): Promise<ArrayBuffer> {
  const obj = await bucket.get(key);
  if (!obj) throw new Error(`${what} missing in R2 at ${key}`);
  const bytes = await obj.arrayBuffer();
  const digest = await r2Sha256(obj, bytes);
  if (digest !== sha) throw new Error(`checksum mismatch for ${what}: got ${digest}, expected ${sha}`);
  return bytes;
}

/**
 * Every shard the manifest names is in R2 with its size: no reads, one listing per 1,000 shards,
 * issued in parallel (keys list in lexicographic order, so each page's `startAfter` is known).
 */
async function checkShardsPresent(bucket: R2Bucket, prefix: string, m: ModelManifest): Promise<void> {
  const keys = m.files.shards.map((_, i) => `${prefix}${shardFile(i)}`).sort();
  const pages: Promise<R2Objects>[] = [];
  for (let i = 0; i < keys.length; i += 1000) pages.push(bucket.list({ prefix: `${prefix}${FILES.shardDir}`, limit: 1000, ...(i ? { startAfter: keys[i - 1] } : {}) }));
  const sizes = new Map<string, number>();
  for (const page of await Promise.all(pages)) for (const o of page.objects) sizes.set(o.key, o.size);
  const bad = m.files.shards.findIndex((f, i) => sizes.get(`${prefix}${shardFile(i)}`) !== f.bytes);
  if (bad >= 0) throw new Error(`model ${m.version} is incompletely published: neighbour shard ${bad} is ${sizes.has(`${prefix}${shardFile(bad)}`) ? 'the wrong size' : 'missing'}`);
}

/**
 * Loads and verifies a version: the manifest's sha256 must be the registry's, every file's the
 * manifest's (shards when first read), and every shard must be present before it may serve, so a
 * half-published version is never served.
 */
export async function loadModel(bucket: R2Bucket, row: Pick<ModelRow, 'version' | 'r2Prefix' | 'sha256' | 'verifiedAt'>): Promise<LoadedModel> {
  const manifestBytes = await readVerified(bucket, `${row.r2Prefix}${FILES.manifest}`, row.sha256, `manifest of model ${row.version}`);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as ModelManifest;
  if (manifest.contract !== CONTRACT_VERSION) throw new Error(`model ${row.version} follows contract ${manifest.contract}; this worker serves contract ${CONTRACT_VERSION}`);
  if (manifest.dims.features !== F) throw new Error(`model ${row.version} ranks ${manifest.dims.features} features; this worker computes ${F}`);
  const [graph, listsBytes] = await Promise.all([
    readVerified(bucket, `${row.r2Prefix}${manifest.files.model}`, manifest.files.sha256, `rank graph of model ${row.version}`),
    readVerified(bucket, `${row.r2Prefix}${manifest.files.lists.name}`, manifest.files.lists.sha256, `lists of model ${row.version}`),
    // A version the publisher (or an earlier worker) saw complete is not listed again.
    row.verifiedAt ? null : checkShardsPresent(bucket, row.r2Prefix, manifest),
  ]);
  const session = await createSession(new Uint8Array(graph));
  const missing = [...Object.values(INPUTS).filter((n) => !session.inputNames.includes(n)), ...Object.values(OUTPUTS).filter((n) => !session.outputNames.includes(n))];
  if (missing.length) throw new Error(`model ${row.version} does not follow the contract: missing ${missing.join(', ')}`);
  const shards: ShardSource = { version: row.version, prefix: row.r2Prefix, shards: manifest.files.shards, bucket };
  fitShardBudget(shards);
  return { version: row.version, manifest, session, lists: JSON.parse(new TextDecoder().decode(listsBytes)) as ModelLists, shards, loadedAt: Date.now() };
}

/**
 * A replaced model may still be in use by requests that picked it up before the swap (the
 * registry check runs in the background), so its ORT session is released only after a grace
 * period, at a later registry check — releasing at once made those requests fail.
 */
const RELEASE_GRACE_MS = 30_000;
const retired: { model: LoadedModel; at: number }[] = [];

function retire(model: LoadedModel): void {
  if (!retired.some((r) => r.model === model)) retired.push({ model, at: Date.now() });
}

function releaseRetired(): void {
  const now = Date.now();
  for (let i = retired.length - 1; i >= 0; i--) {
    const r = retired[i]!;
    if (r.model === state.model || r.model === state.canary?.model) retired.splice(i, 1);
    else if (now - r.at >= RELEASE_GRACE_MS) {
      retired.splice(i, 1);
      r.model.session.release().catch(() => undefined);
      forgetShards(r.model.version);
    }
  }
}

async function refresh(env: { DB: D1Database; MODELS: R2Bucket }): Promise<void> {
  state.checkedAt = Date.now();
  releaseRetired();
  let row: ModelRow | undefined;
  let rollout: RolloutRow | undefined;
  try {
    [row, rollout] = await Promise.all([activeModel(env.DB), runningRollout(env.DB)]);
  } catch (e) {
    state.lastError = `registry unreachable: ${(e as Error).message}`;
    return; // keep whatever is loaded
  }
  await refreshStable(env, row);
  await refreshCanary(env, rollout);
}

async function refreshStable(env: { DB: D1Database; MODELS: R2Bucket }, row: ModelRow | undefined): Promise<void> {
  state.activeVersion = row?.version ?? null;
  if (!row) {
    if (state.model) retire(state.model);
    state.model = undefined;
    return;
  }
  if (row.version === state.model?.version) return;
  if (row.version === state.canary?.model?.version) {
    // A promoted canary: already loaded and verified here, it simply becomes the stable model.
    const old = state.model;
    state.model = state.canary.model;
    state.lastError = null;
    if (old && old !== state.model) retire(old);
    return;
  }
  const failedAt = state.failed.get(row.version);
  if (failedAt && Date.now() - failedAt < RETRY_FAILED_MS) return;
  try {
    const next = await loadModel(env.MODELS, row);
    if (!row.verifiedAt) await markVerified(env.DB, row.version);
    const old = state.model;
    state.model = next;
    state.lastError = null;
    state.failed.delete(row.version);
    if (old) retire(old);
  } catch (e) {
    state.failed.set(row.version, Date.now());
    state.lastError = `model ${row.version} failed to load: ${(e as Error).message}`;
    log('error', 'model_load_failed', { version: row.version, error: (e as Error).message });
  }
}

/** Load (once per rollout) the canary model; a failure is kept and reported, never retried. */
async function refreshCanary(env: { DB: D1Database; MODELS: R2Bucket }, rollout: RolloutRow | undefined): Promise<void> {
  const current = state.canary;
  if (current?.rolloutId === rollout?.id) {
    if (current && rollout) current.share = rollout.share;
    return;
  }
  state.canary = undefined;
  if (current?.model && current.model !== state.model) retire(current.model);
  if (!rollout) return;
  const next: CanaryServing = { rolloutId: rollout.id, version: rollout.version, share: rollout.share, error: null };
  try {
    if (rollout.version === state.model?.version) next.model = state.model;
    else {
      const row = await db(env.DB).select().from(models).where(eq(models.version, rollout.version)).get();
      if (!row) throw new Error(`model ${rollout.version} is not registered`);
      next.model = await loadModel(env.MODELS, row);
      if (!row.verifiedAt) await markVerified(env.DB, row.version);
    }
  } catch (e) {
    next.error = `canary model ${rollout.version} failed to load: ${(e as Error).message}`;
    log('error', 'canary_load_failed', { version: rollout.version, rollout_id: rollout.id, error: (e as Error).message });
  }
  state.canary = next;
}

/** The running canary as of the last registry check (call after getModel). */
export function getCanary(): CanaryServing | undefined {
  return state.canary;
}

/**
 * The model to serve, or undefined (the caller then serves the popularity fallback).
 * Only the very first call of an isolate waits for the registry; later checks run in the background.
 */
export async function getModel(
  env: { DB: D1Database; MODELS: R2Bucket },
  ttlMs: number,
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<LoadedModel | undefined> {
  if (Date.now() - state.checkedAt > ttlMs && !state.refreshing) {
    state.refreshing = refresh(env).finally(() => (state.refreshing = undefined));
  }
  if (state.refreshing) {
    // With nothing loaded yet (or right after an admin change) waiting beats a needless fallback.
    if (!state.model || state.waitNext) {
      state.waitNext = false;
      await state.refreshing;
    } else waitUntil?.(state.refreshing);
  }
  return state.model;
}

export function modelStatus(): ModelStatus {
  return {
    version: state.model?.version ?? null,
    loadedAt: state.model?.loadedAt ?? null,
    activeVersion: state.activeVersion,
    lastError: state.lastError,
    checkedAt: state.checkedAt,
    neighbours: shardCacheStats(),
    artifactBytes: state.model?.manifest.files.total_bytes ?? null,
    canary: state.canary
      ? { rolloutId: state.canary.rolloutId, version: state.canary.version, share: state.canary.share, loaded: !!state.canary.model, error: state.canary.error }
      : null,
  };
}

/** Forget the registry check time so the next request re-reads it (after an admin activation in this isolate). */
export function markModelStale(): void {
  state.checkedAt = 0;
  state.waitNext = true;
  state.failed.clear();
}
