/**
 * A per-isolate cache for small D1 reads (slot configs, templates): the first read waits,
 * later reads answer from memory and refresh in the background once the entry is older than ttlMs.
 * At most maxEntries keys are held (least recently used evicted first): keys can come from requests.
 */
import { Lru } from './lru';

interface Entry<T> {
  value?: T;
  at: number;
  pending?: Promise<T>;
}

export class TtlCache<T> {
  private readonly entries: Lru<string, Entry<T>>;
  constructor(
    private readonly ttlMs: number,
    maxEntries = 256,
  ) {
    this.entries = new Lru(maxEntries);
  }

  async get(key: string, load: () => Promise<T>, waitUntil?: (p: Promise<unknown>) => void): Promise<T> {
    let e = this.entries.get(key);
    if (!e) {
      e = { at: 0 };
      this.entries.set(key, e);
    }
    const entry = e;
    if (Date.now() - entry.at > this.ttlMs && !entry.pending) {
      entry.pending = load()
        .then((v) => {
          entry.value = v;
          entry.at = Date.now();
          return v;
        })
        .finally(() => (entry.pending = undefined));
      if (entry.value === undefined) return entry.pending;
      waitUntil?.(entry.pending.catch(() => undefined));
    }
    if (entry.value === undefined && entry.pending) return entry.pending;
    return entry.value as T;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
