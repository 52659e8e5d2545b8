/**
 * Builds a catalog snapshot outside the request path (admin route, cron): reads D1's items in
 * pages, writes the columnar object to R2, then names it in the meta row (only if no other build
 * replaced the snapshot meanwhile), then trims the change log and old objects the fallback no
 * longer needs.
 */
import { positiveVar } from '../lib/vars';
import { log } from '../ops/log';
import { countRead } from './read-stats';
import { FingerprintCollision, SnapshotWriter, type BuildRow } from './snapshot-writer';
import { sha256Hex } from '../lib/digest';
import { readMeta, SNAPSHOT_META_KEY, SNAPSHOT_PREFIX, snapshotKey, type SnapshotMeta, type SnapshotRef } from './snapshot-store';

const PAGE = 5000;
const SEEDS = [0x9e3779b9, 0x85ebca6b, 0xc2b2ae35];
const TRIM_CHUNK = 10_000;
export const DEFAULT_DELTA_MAX = 20_000;

export class SnapshotConflict extends Error {}

export interface BuildResult extends SnapshotRef {
  ms: number;
  previous: string | null;
  trimmed: number;
}

interface ItemRow {
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  in_stock: number;
  popularity: number;
  tags: string | null;
}

async function lastSeq(d1: D1Database): Promise<number> {
  const res = await d1.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM catalog_changes').all<{ seq: number }>();
  countRead('build', res);
  return res.results[0]?.seq ?? 0;
}

async function encodeCatalog(d1: D1Database, seed: number): Promise<{ bytes: Uint8Array; items: number }> {
  const w = new SnapshotWriter(seed);
  let after = '';
  for (;;) {
    const res = await d1
      .prepare('SELECT id, category, brand, price, in_stock, popularity, tags FROM items WHERE id > ?1 ORDER BY id LIMIT ?2')
      .bind(after, PAGE)
      .all<ItemRow>();
    countRead('build', res);
    for (const r of res.results) w.add(toBuildRow(r));
    if (res.results.length < PAGE) break;
    after = res.results[res.results.length - 1]!.id;
  }
  return { bytes: w.finish(), items: w.size };
}

function toBuildRow(r: ItemRow): BuildRow {
  let tags: string[] = [];
  try {
    const v = JSON.parse(r.tags ?? '[]') as unknown;
    if (Array.isArray(v)) tags = v.filter((t): t is string => typeof t === 'string');
  } catch {
    // no tags
  }
  return { id: r.id, category: r.category, brand: r.brand, price: r.price, inStock: !!r.in_stock, tags, popularity: r.popularity };
}

export async function buildCatalogSnapshot(env: Pick<Env, 'DB' | 'MODELS'>): Promise<BuildResult> {
  const t0 = Date.now();
  const d1 = env.DB;
  const old = await readMeta(d1);
  // Read the log position first: anything written while the pages are read is in the delta after it.
  const seq = await lastSeq(d1);
  let built: { bytes: Uint8Array; items: number } | undefined;
  for (const seed of SEEDS) {
    try {
      built = await encodeCatalog(d1, seed);
      break;
    } catch (e) {
      if (!(e instanceof FingerprintCollision)) throw e;
      log('warn', 'catalog_snapshot_collision', { seed });
    }
  }
  if (!built) throw new Error('every fingerprint seed collided');
  const sha256 = await sha256Hex(built.bytes);
  const id = `${new Date(t0).toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${seq}-${sha256.slice(0, 8)}`;
  await env.MODELS.put(snapshotKey(id), built.bytes, { sha256, customMetadata: { seq: String(seq), items: String(built.items) } });

  const ref: SnapshotRef = { id, seq, items: built.items, bytes: built.bytes.byteLength, sha256 };
  const previous = old ? { id: old.id, seq: old.seq, items: old.items, bytes: old.bytes, sha256: old.sha256 } : null;
  // Rows up to the previous snapshot's seq are in both snapshots an isolate may load.
  const meta: SnapshotMeta = { ...ref, builtAt: Date.now(), previous, trimmedThrough: Math.max(old?.trimmedThrough ?? 0, previous?.seq ?? 0) };
  const value = JSON.stringify(meta);
  const res = old
    ? await d1.prepare('UPDATE meta SET value = ?1 WHERE key = ?2 AND json_extract(value, \'$.id\') = ?3').bind(value, SNAPSHOT_META_KEY, old.id).run()
    : await d1.prepare('INSERT INTO meta (key, value) VALUES (?2, ?1) ON CONFLICT (key) DO NOTHING').bind(value, SNAPSHOT_META_KEY).run();
  if (!res.meta.changes) {
    await env.MODELS.delete(snapshotKey(id));
    throw new SnapshotConflict('another snapshot build finished first; its snapshot is current');
  }
  const trimmed = await trimChanges(d1, meta.trimmedThrough);
  await deleteOldObjects(env.MODELS, new Set([id, ...(previous ? [previous.id] : [])]));
  const result: BuildResult = { ...ref, ms: Date.now() - t0, previous: previous?.id ?? null, trimmed };
  log('info', 'catalog_snapshot_built', { ...result });
  return result;
}

/** Delete change-log rows up to `through`, in bounded statements. */
async function trimChanges(d1: D1Database, through: number): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await d1.prepare('DELETE FROM catalog_changes WHERE seq IN (SELECT seq FROM catalog_changes WHERE seq <= ?1 LIMIT ?2)').bind(through, TRIM_CHUNK).run();
    total += res.meta.changes;
    if (res.meta.changes < TRIM_CHUNK) return total;
  }
}

async function deleteOldObjects(bucket: R2Bucket, keep: Set<string>): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: SNAPSHOT_PREFIX, cursor });
    const stale = page.objects.map((o) => o.key).filter((k) => !keep.has(k.slice(SNAPSHOT_PREFIX.length).split('/')[0]!));
    if (stale.length) await bucket.delete(stale);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/** Cron: build when the change log past the current snapshot holds more than CATALOG_DELTA_MAX changes. */
export async function snapshotIfDue(env: Pick<Env, 'DB' | 'MODELS'> & { CATALOG_DELTA_MAX?: string }): Promise<BuildResult | { built: false; pending: number; max: number }> {
  const max = positiveVar(env.CATALOG_DELTA_MAX, DEFAULT_DELTA_MAX);
  const [meta, seq] = await Promise.all([readMeta(env.DB), lastSeq(env.DB)]);
  // seq is AUTOINCREMENT: the difference bounds the number of changes without counting them.
  const pending = seq - (meta?.seq ?? 0);
  if (pending <= max) return { built: false, pending, max };
  return buildCatalogSnapshot(env);
}
