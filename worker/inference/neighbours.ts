/**
 * Neighbour shards, read on demand: a request asks for the lists of its history items, and
 * only their shards are read from R2, each checked against its sha256 in the manifest (R2's own
 * stored checksum when the object was uploaded with one, else by hashing it). Two per-isolate
 * LRUs, shared by every model version this isolate serves: shards by bytes (a burst of items
 * from one shard is one read) and decoded entries by count (a returning shopper's history costs
 * no read and no decoding). Concurrent requests for one shard share one read.
 */
import { shardFile } from '../../model/contract';
import { type NeighbourEntry, ShardReader, shardOf } from '../../model/format/shards';
import { r2Sha256 } from '../lib/digest';
import { Lru } from '../lib/lru';

export interface ShardSource {
  version: string;
  prefix: string;
  shards: { sha256: string; bytes: number }[];
  bucket: R2Bucket;
}

const DEFAULT_BUDGET = 16 * 1024 * 1024;
/**
 * A model whose shards total at most this many bytes gets a budget that holds them all (a
 * 50,000-item model's are ~23 MB): past the first read of each, a product page for any item
 * costs no R2 read. Larger models share the default budget (the catalog's columns need the rest
 * of the isolate's 128 MB at 1M items: docs/benchmarks.md).
 */
const WHOLE_MODEL_BUDGET = 32 * 1024 * 1024;
/**
 * Decoded entries are JS objects (~150 bytes of heap per neighbour): the cache is bounded by the
 * neighbours it holds, ~60,000 of them ≈ 9 MB, about 2,000 items' lists.
 */
const ENTRY_NEIGHBOURS = 60_000;

class ShardCache {
  private readonly lru: Lru<string, ShardReader>;
  private readonly pending = new Map<string, Promise<ShardReader>>();
  reads = 0;
  constructor(budget: number) {
    this.lru = new Lru(budget);
  }

  get bytes(): number {
    return this.lru.weight;
  }

  get budget(): number {
    return this.lru.budget;
  }

  set budget(bytes: number) {
    this.lru.budget = bytes;
  }

  get(src: ShardSource, s: number): ShardReader | Promise<ShardReader> {
    const key = `${src.version}/${s}`;
    const hit = this.lru.get(key);
    if (hit) return hit;
    let p = this.pending.get(key);
    if (!p) {
      p = this.read(src, s)
        .then((r) => {
          this.lru.set(key, r, r.byteLength);
          return r;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async read(src: ShardSource, s: number): Promise<ShardReader> {
    this.reads++;
    const obj = await src.bucket.get(`${src.prefix}${shardFile(s)}`);
    if (!obj) throw new Error(`model ${src.version}: neighbour shard ${s} is missing`);
    const buf = await obj.arrayBuffer();
    const want = src.shards[s]!.sha256;
    if ((await r2Sha256(obj, buf)) !== want) throw new Error(`model ${src.version}: neighbour shard ${s} does not match its checksum`);
    return new ShardReader(buf);
  }

  /** Drop a retired version's shards. */
  forget(version: string): void {
    forgetVersion(this.lru, version);
  }
}

function forgetVersion<V>(lru: Lru<string, V>, version: string): void {
  for (const k of [...lru.keys()]) if (k.startsWith(`${version}/`)) lru.delete(k);
}

const cache = new ShardCache(DEFAULT_BUDGET);

/** Decoded entries by `version/id` (null: the model does not know the id), bounded by the neighbours they hold. */
const entries = new Lru<string, NeighbourEntry | null>(ENTRY_NEIGHBOURS);
const size = (e: NeighbourEntry | null) => 1 + (e ? e.collaborative.length + e.content.length : 0);

/**
 * A version was loaded: grow the shard budget to hold all of its shards when they fit (never
 * shrinks: a canary's and the stable's share it).
 */
export function fitShardBudget(src: ShardSource): void {
  const total = src.shards.reduce((s, x) => s + x.bytes, 0);
  if (total <= WHOLE_MODEL_BUDGET && total > cache.budget) cache.budget = total;
}

/** The neighbour entries of `ids` (ids the model does not know are absent). */
export async function neighbourLists(src: ShardSource, ids: string[]): Promise<Map<string, NeighbourEntry>> {
  const out = new Map<string, NeighbourEntry>();
  const byShard = new Map<number, string[]>();
  for (const id of ids) {
    const key = `${src.version}/${id}`;
    const hit = entries.get(key);
    if (hit !== undefined) {
      if (hit) out.set(id, hit);
      continue;
    }
    const s = shardOf(id, src.shards.length);
    const l = byShard.get(s);
    if (l) l.push(id);
    else byShard.set(s, [id]);
  }
  await Promise.all(
    [...byShard].map(async ([s, group]) => {
      const reader = await cache.get(src, s);
      for (const id of group) {
        const e = reader.get(id) ?? null;
        entries.set(`${src.version}/${id}`, e, size(e));
        if (e) out.set(id, e);
      }
    }),
  );
  return out;
}

export function forgetShards(version: string): void {
  cache.forget(version);
  forgetVersion(entries, version);
}

export function shardCacheStats(): { bytes: number; budget: number; reads: number; entries: number } {
  return { bytes: cache.bytes, budget: cache.budget, reads: cache.reads, entries: entries.size };
}
