/**
 * A per-isolate cache for small D1 reads (slot configs, templates): the first read waits,
 * later reads answer from memory and refresh in the background once the entry is older than ttlMs.
 * At most maxEntries keys are held (the oldest inserted goes first): keys can come from requests.
 */
interface Entry<T> {
  value?: T;
  at: number;
  pending?: Promise<T>;
}

export class TtlCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 256,
  ) {}

  async get(key: string, load: () => Promise<T>, waitUntil?: (p: Promise<unknown>) => void): Promise<T> {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
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
