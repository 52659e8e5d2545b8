/**
 * A least-recently-used map bounded by a total weight (entry count, bytes, …): a Map finds the
 * entry, a doubly linked list keeps the order (a hit moves its node to the back, eviction takes
 * from the front). Reordering through the Map itself (delete, then set) leaves holes at the
 * front of V8's table that every eviction has to walk past: ~7 µs per operation at 20,000
 * entries (Node, hits and misses), against ~1 µs with the list.
 */
interface Node<K, V> {
  key: K;
  value: V;
  weight: number;
  prev: Node<K, V> | null;
  next: Node<K, V> | null;
}

export class Lru<K, V> {
  private readonly entries = new Map<K, Node<K, V>>();
  /** least recently used */
  private head: Node<K, V> | null = null;
  /** most recently used */
  private tail: Node<K, V> | null = null;
  private total = 0;

  constructor(public budget: number) {}

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const n = this.entries.get(key);
    if (!n) return undefined;
    if (n !== this.tail) {
      this.unlink(n);
      this.append(n);
    }
    return n.value;
  }

  /** Stores the entry, then evicts the least recently used ones until the budget holds (never the new one). */
  set(key: K, value: V, weight = 1): void {
    this.delete(key);
    const n: Node<K, V> = { key, value, weight, prev: null, next: null };
    this.entries.set(key, n);
    this.append(n);
    this.total += weight;
    while (this.total > this.budget && this.head && this.head !== n) this.delete(this.head.key);
  }

  delete(key: K): boolean {
    const n = this.entries.get(key);
    if (!n) return false;
    this.entries.delete(key);
    this.unlink(n);
    this.total -= n.weight;
    return true;
  }

  /** Least recently used first. */
  *keys(): IterableIterator<K> {
    for (let n = this.head; n; n = n.next) yield n.key;
  }

  clear(): void {
    this.entries.clear();
    this.head = this.tail = null;
    this.total = 0;
  }

  private unlink(n: Node<K, V>): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = null;
  }

  private append(n: Node<K, V>): void {
    n.prev = this.tail;
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
  }
}
