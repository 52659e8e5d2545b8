/**
 * The neighbour shards of a model: encoded for publishing, and read back in memory for the
 * offline evaluation, through the same reader the worker uses (model/format/shards.ts).
 */
import type { Dataset } from '../dataset';
import { encodeShard, type NeighbourEntry, ShardReader, shardOf } from '../format/shards';
import { entryOf, type RetrievalData } from './retrieval-data';

/**
 * Items per shard on average: a request reads one shard per history item it has not cached
 * (tens of KB each); a 1M-item model has ~7,800 shards, listed in 8 R2 calls at load.
 */
export const ITEMS_PER_SHARD = 128;

export function shardCount(items: number): number {
  return Math.max(1, Math.ceil(items / ITEMS_PER_SHARD));
}

export function encodeShards(rd: RetrievalData, ds: Dataset, progress?: (d: number, t: number) => void): Uint8Array[] {
  const s = shardCount(ds.items.length);
  const buckets: number[][] = Array.from({ length: s }, () => []);
  for (let i = 0; i < ds.items.length; i++) buckets[shardOf(ds.itemIds[i]!, s)]!.push(i);
  return buckets.map((b, x) => {
    const out = encodeShard(b.map((i) => entryOf(rd, ds, i)));
    if (progress && (x & 15) === 15) progress(x + 1, s);
    return out;
  });
}

export class InMemoryShards {
  private readonly readers: ShardReader[];
  constructor(shards: Uint8Array[]) {
    this.readers = shards.map((b) => new ShardReader(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
  }
  lists(ids: Iterable<string>): Map<string, NeighbourEntry> {
    const out = new Map<string, NeighbourEntry>();
    for (const id of ids) {
      const e = this.readers[shardOf(id, this.readers.length)]!.get(id);
      if (e) out.set(id, e);
    }
    return out;
  }
}
