/**
 * The active model, per isolate. An isolate checks the registry at most every `ttlMs`
 * (in the background once a model is loaded), so a newly activated version is picked up
 * without a redeploy. A new version is verified (sha256 against the registry and the
 * manifest) and must load and match the contract before it replaces the old one; if it
 * fails, the old one keeps serving and the failure is reported in health.
 */
import { INPUTS, OUTPUTS, type ModelManifest } from '../../model/contract';
import { eq } from 'drizzle-orm';
import { db } from '../db/client';
import { models, type ModelRow, type RolloutRow } from '../db/schema';
import { createSession, type ort } from './ort';
import { activeModel, runningRollout } from './registry';

export interface LoadedModel {
  version: string;
  manifest: ModelManifest;
  session: ort.InferenceSession;
  itemIndex: Map<string, number>;
  attrIndex: Map<string, number>;
  loadedAt: number;
}

export interface ModelStatus {
  version: string | null;
  loadedAt: number | null;
  activeVersion: string | null;
  lastError: string | null;
  checkedAt: number;
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

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function loadModel(bucket: R2Bucket, row: Pick<ModelRow, 'version' | 'r2Prefix' | 'sha256'>): Promise<LoadedModel> {
  const manifestObj = await bucket.get(`${row.r2Prefix}manifest.json`);
  if (!manifestObj) throw new Error(`manifest missing in R2 at ${row.r2Prefix}manifest.json`);
  const manifest = (await manifestObj.json()) as ModelManifest;
  const graphObj = await bucket.get(`${row.r2Prefix}${manifest.files?.model ?? 'model.onnx'}`);
  if (!graphObj) throw new Error(`model graph missing in R2 under ${row.r2Prefix}`);
  const bytes = await graphObj.arrayBuffer();
  const digest = await sha256Hex(bytes);
  if (digest !== row.sha256 || digest !== manifest.files.sha256) {
    throw new Error(`checksum mismatch for model ${row.version}: got ${digest}, registry ${row.sha256}`);
  }
  const session = await createSession(new Uint8Array(bytes));
  const missing = [...Object.values(INPUTS).filter((n) => !session.inputNames.includes(n)), ...Object.values(OUTPUTS).filter((n) => !session.outputNames.includes(n))];
  if (missing.length) throw new Error(`model ${row.version} does not follow the contract: missing ${missing.join(', ')}`);
  if (manifest.items.length !== manifest.dims.items) throw new Error(`model ${row.version}: manifest lists ${manifest.items.length} items, dims say ${manifest.dims.items}`);
  return {
    version: row.version,
    manifest,
    session,
    itemIndex: new Map(manifest.items.map((id, i) => [id, i])),
    attrIndex: new Map(manifest.attributes.map((a, i) => [a, i])),
    loadedAt: Date.now(),
  };
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
    const old = state.model;
    state.model = next;
    state.lastError = null;
    state.failed.delete(row.version);
    if (old) retire(old);
  } catch (e) {
    state.failed.set(row.version, Date.now());
    state.lastError = `model ${row.version} failed to load: ${(e as Error).message}`;
    console.error(JSON.stringify({ level: 'error', msg: 'model_load_failed', version: row.version, error: (e as Error).message }));
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
    }
  } catch (e) {
    next.error = `canary model ${rollout.version} failed to load: ${(e as Error).message}`;
    console.error(JSON.stringify({ level: 'error', msg: 'canary_load_failed', version: rollout.version, rollout_id: rollout.id, error: (e as Error).message }));
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
