/**
 * The serving catalog of this isolate: the current columnar snapshot (if any) with the change
 * log applied. The first call waits for the load; later calls answer at once and, every
 * CATALOG_TTL_MS, ask D1 in the background for the changes past the last one applied (one
 * batch: the meta row and the first page of changes). A new snapshot named in the meta row is
 * loaded in the background too, while the old one keeps serving.
 */
import { numberVar, positiveVar } from '../lib/vars';
import { log } from '../ops/log';
import { CatalogView, type Change } from './catalog-view';
import { changesStatement, CHANGES_PAGE, readChanges, toChanges } from './delta';
import { forgetDisplay } from './display';
import { decodeSnapshot } from './format';
import { PartialCatalog } from './partial-view';
import { fetchSnapshot, metaStatement, parseMeta, readMeta, type SnapshotMeta, type SnapshotRef } from './snapshot-store';
import type { ServingCatalog } from './types';

export { cachedDisplayFields, displayFields } from './display';
export { PartialCatalog } from './partial-view';
export type { DisplayFields, ItemFacts, ServingCatalog } from './types';

const DEFAULT_TTL_MS = 5000;
/** A snapshot that failed to load is not tried again for this long (each try is a full R2 read). */
const RETRY_BROKEN_MS = 5 * 60_000;

interface State {
  view?: CatalogView;
  pending?: Promise<void>;
  /** this isolate wrote the catalog: sync before serving again (read your own writes) */
  dirty: boolean;
  checkedAt: number;
  broken: Map<string, number>;
  /** before the first load: the snapshot's size, which decides whether requests wait for it */
  coldMeta?: Promise<SnapshotMeta | null>;
}

const states = new WeakMap<D1Database, State>();

function stateOf(d1: D1Database): State {
  let s = states.get(d1);
  if (!s) states.set(d1, (s = { dirty: false, checkedAt: 0, broken: new Map() }));
  return s;
}

type CatalogEnv = Pick<Env, 'DB' | 'MODELS'> & { CATALOG_TTL_MS?: string };

export async function getServingCatalog(env: CatalogEnv, waitUntil?: (p: Promise<unknown>) => void): Promise<CatalogView> {
  const st = stateOf(env.DB);
  while (!st.view || st.dirty) {
    st.pending ??= refresh(env, st).finally(() => (st.pending = undefined));
    await st.pending;
  }
  // CATALOG_TTL_MS "0" (tests): check on every call.
  const ttl = env.CATALOG_TTL_MS === '0' ? 0 : positiveVar(env.CATALOG_TTL_MS, DEFAULT_TTL_MS);
  if (Date.now() - st.checkedAt > ttl && !st.pending) {
    const p = (st.pending = refresh(env, st).finally(() => (st.pending = undefined)));
    p.catch((e: Error) => log('warn', 'catalog_refresh_failed', { error: e.message }));
    waitUntil?.(p.catch(() => undefined));
  }
  return st.view;
}

/** Snapshots at least this big are not waited for by a fresh isolate's requests (about 300k items). */
const DEFAULT_COLD_BYTES = 8 * 1024 * 1024;

type ColdEnv = CatalogEnv & { CATALOG_COLD_BYTES?: string };

/**
 * For serving a request: the loaded catalog, or, while this isolate's first load of a large
 * snapshot (CATALOG_COLD_BYTES, default 8 MiB) is still under way, a PartialCatalog that reads
 * only the items the request touches from D1 (the load goes on in the background). A first
 * request then costs a few hundred rows, not the whole snapshot. A small snapshot loads faster
 * than the extra queries would take: it is waited for, as is the load when there is no waitUntil.
 */
export async function servingCatalogNow(env: ColdEnv, waitUntil?: (p: Promise<unknown>) => void): Promise<ServingCatalog> {
  const st = stateOf(env.DB);
  if (st.view || !waitUntil) return getServingCatalog(env, waitUntil);
  st.coldMeta ??= readMeta(env.DB).catch(() => null);
  const meta = await st.coldMeta;
  if (st.view || !meta || meta.bytes < numberVar(env.CATALOG_COLD_BYTES, DEFAULT_COLD_BYTES)) return getServingCatalog(env, waitUntil);
  // The load starts once this request has its answer: run beside it, reading and decoding the
  // snapshot would take the isolate's thread from the very answer it is meant to spare.
  return new PartialCatalog(env.DB, () => {
    if (st.view) return;
    st.pending ??= refresh(env, st).finally(() => (st.pending = undefined));
    waitUntil(st.pending.catch((e: Error) => log('warn', 'catalog_load_failed', { error: e.message })));
  });
}

/** Is the item in the catalog? Asked of D1 for this one item while the isolate's catalog loads. */
export async function catalogHas(env: ColdEnv, id: string, waitUntil?: (p: Promise<unknown>) => void): Promise<boolean> {
  const catalog = await servingCatalogNow(env, waitUntil);
  if (!(catalog instanceof PartialCatalog)) return catalog.has(id);
  catalog.want([id]);
  await catalog.fill();
  catalog.answered();
  return catalog.has(id);
}

/** After a catalog write in this isolate: the next getServingCatalog applies it before answering. */
export function noteCatalogWrite(d1: D1Database): void {
  stateOf(d1).dirty = true;
}

async function refresh(env: CatalogEnv, st: State): Promise<void> {
  const wasDirty = st.dirty;
  st.dirty = false;
  st.checkedAt = Date.now();
  try {
    let view = st.view;
    let meta: SnapshotMeta | null;
    let first: Change[] | null = null;
    if (view) {
      const [m, c] = await env.DB.batch([metaStatement(env.DB), changesStatement(env.DB, view.seq)]);
      meta = parseMeta(m!);
      first = toChanges(c!);
    } else meta = await readMeta(env.DB);
    if (!view || (meta?.id ?? null) !== view.snapshotId) {
      const next = await openSnapshot(env, st, meta);
      if (next) {
        view = next;
        first = null;
      }
    }
    await applyChanges(env.DB, view!, first);
    if (view !== st.view) {
      // A new base: changes up to its seq were never seen here, so no cached display field is trusted.
      if (st.view) forgetDisplay(env.DB, 'all');
      st.view = view;
    }
  } catch (e) {
    st.dirty ||= wasDirty;
    throw e;
  }
}

/** Apply every change past the view's seq, page by page (`first`: the first page, already read). */
async function applyChanges(d1: D1Database, view: CatalogView, first: Change[] | null): Promise<void> {
  let page = first ?? (await readChanges(d1, view.seq));
  for (;;) {
    view.apply(page);
    if (page.length) forgetDisplay(d1, page.map((c) => c.id));
    if (page.length < CHANGES_PAGE) return;
    page = await readChanges(d1, view.seq);
  }
}

/**
 * A fresh view on the snapshot the meta row names (or its predecessor when it cannot be read),
 * or null to keep the current view. Without any usable snapshot: an empty view, so the whole
 * catalog is the change log from seq 0.
 */
async function openSnapshot(env: CatalogEnv, st: State, meta: SnapshotMeta | null): Promise<CatalogView | null> {
  const candidates: SnapshotRef[] = meta ? [meta, ...(meta.previous ? [meta.previous] : [])] : [];
  for (const ref of candidates) {
    if (ref.id === st.view?.snapshotId) return null;
    if (Date.now() - (st.broken.get(ref.id) ?? -Infinity) < RETRY_BROKEN_MS) continue;
    try {
      const cols = decodeSnapshot(await fetchSnapshot(env.MODELS, ref));
      st.broken.delete(ref.id);
      return CatalogView.fromSnapshot(ref.id, ref.seq, cols);
    } catch (e) {
      st.broken.set(ref.id, Date.now());
      log('error', 'catalog_snapshot_unusable', { snapshot: ref.id, error: (e as Error).message });
    }
  }
  if (st.view) return null;
  if (meta && meta.trimmedThrough > 0) log('error', 'catalog_incomplete', { reason: 'no usable snapshot and the change log was trimmed', trimmed_through: meta.trimmedThrough });
  return CatalogView.empty();
}

/** Health: what this isolate serves. */
export function servingStatus(view: CatalogView | null): Record<string, unknown> {
  return view ? { items: view.size, version: view.version, snapshot: view.snapshotId, snapshot_bytes: view.snapshotBytes, seq: view.seq, overlay: view.overlaySize } : {};
}
