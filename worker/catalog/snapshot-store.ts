/**
 * Where snapshots live: the bytes in R2 (MODELS bucket, `catalog/snapshots/<id>/catalog.bin`),
 * and the D1 `meta` row `catalog_snapshot` naming the current one. The builder writes R2 first
 * and the row last, so a snapshot nobody named is never served; the loader checks size and sha256.
 */
import { r2Sha256 } from '../lib/digest';
import { z } from '@hono/zod-openapi';
import { countRead } from './read-stats';

export const SNAPSHOT_META_KEY = 'catalog_snapshot';
export const SNAPSHOT_PREFIX = 'catalog/snapshots/';

const RefSchema = z.object({ id: z.string().min(1), seq: z.number().int().nonnegative(), items: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), sha256: z.string().length(64) });
const MetaSchema = RefSchema.extend({
  builtAt: z.number(),
  /** the snapshot this one replaced: the fallback when this one cannot be loaded */
  previous: RefSchema.nullable(),
  /** change-log rows up to this seq were deleted (they are in `previous`) */
  trimmedThrough: z.number().int().nonnegative(),
});

export type SnapshotRef = z.infer<typeof RefSchema>;
export type SnapshotMeta = z.infer<typeof MetaSchema>;

export const snapshotKey = (id: string) => `${SNAPSHOT_PREFIX}${id}/catalog.bin`;

export function metaStatement(d1: D1Database): D1PreparedStatement {
  return d1.prepare('SELECT value FROM meta WHERE key = ?1').bind(SNAPSHOT_META_KEY);
}

/** The meta row, or null when there is none (or it is unreadable: then no snapshot is served). */
export function parseMeta(result: D1Result<unknown>): SnapshotMeta | null {
  countRead('delta', result);
  const value = (result.results[0] as { value?: string } | undefined)?.value;
  if (value === undefined) return null;
  try {
    const parsed = MetaSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function readMeta(d1: D1Database): Promise<SnapshotMeta | null> {
  return parseMeta(await metaStatement(d1).all());
}

export class SnapshotUnavailable extends Error {}

/** The snapshot's bytes, exactly as the meta row describes them. */
export async function fetchSnapshot(bucket: R2Bucket, ref: SnapshotRef): Promise<ArrayBuffer> {
  const obj = await bucket.get(snapshotKey(ref.id));
  if (!obj) throw new SnapshotUnavailable(`snapshot ${ref.id} is not in R2`);
  const buf = await obj.arrayBuffer();
  if (buf.byteLength !== ref.bytes) throw new SnapshotUnavailable(`snapshot ${ref.id} has ${buf.byteLength} bytes, expected ${ref.bytes}`);
  if ((await r2Sha256(obj, buf)) !== ref.sha256) throw new SnapshotUnavailable(`snapshot ${ref.id} does not match its sha256`);
  return buf;
}
