/**
 * The per-isolate caches' eviction order (worker/lib/lru.ts): what a cache keeps decides which
 * requests pay a D1 or R2 read, so the order and the weight bound are what users notice.
 */
import { describe, expect, it } from 'vitest';
import { Lru } from '../../worker/lib/lru';

describe('Lru', () => {
  it('drops the least recently used entry first; a hit makes an entry recent', () => {
    const c = new Lru<string, number>(3);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1);
    c.set('d', 4);
    expect([...c.keys()]).toEqual(['c', 'a', 'd']);
    expect(c.get('b')).toBeUndefined();
    c.set('e', 5);
    expect([...c.keys()]).toEqual(['a', 'd', 'e']);
  });

  it('holds the budget by weight, keeps an entry heavier than the budget alone, and re-weighs a replaced key', () => {
    const c = new Lru<string, string>(10);
    c.set('a', 'x', 4);
    c.set('b', 'y', 4);
    expect(c.weight).toBe(8);
    c.set('a', 'z', 6);
    expect([...c.keys()]).toEqual(['b', 'a']);
    expect(c.weight).toBe(10);
    c.set('big', 'w', 25);
    expect([...c.keys()]).toEqual(['big']);
    expect(c.weight).toBe(25);
    expect(c.size).toBe(1);
    c.set('small', 's', 1);
    expect([...c.keys()]).toEqual(['small']);
  });

  it('deletes from the front, middle and back, and a lowered budget applies at the next set', () => {
    const c = new Lru<number, number>(100);
    for (let i = 0; i < 6; i++) c.set(i, i * 10);
    expect(c.delete(0)).toBe(true);
    expect(c.delete(3)).toBe(true);
    expect(c.delete(5)).toBe(true);
    expect(c.delete(5)).toBe(false);
    expect([...c.keys()]).toEqual([1, 2, 4]);
    expect(c.get(1)).toBe(10);
    c.budget = 2;
    c.set(7, 70);
    expect([...c.keys()]).toEqual([1, 7]);
    expect(c.weight).toBe(2);
    c.clear();
    expect([...c.keys()]).toEqual([]);
    expect(c.weight).toBe(0);
    c.set(8, 80);
    expect(c.get(8)).toBe(80);
  });

  it('agrees with a reference model over a long random run', () => {
    const c = new Lru<number, number>(50);
    let order: number[] = [];
    const weights = new Map<number, number>();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 20_000; step++) {
      const k = Math.floor(rnd() * 80);
      const op = rnd();
      if (op < 0.5) {
        const hit = c.get(k);
        expect(hit === undefined).toBe(!order.includes(k));
        if (hit !== undefined) order = [...order.filter((x) => x !== k), k];
      } else if (op < 0.9) {
        const w = 1 + Math.floor(rnd() * 5);
        c.set(k, k, w);
        order = [...order.filter((x) => x !== k), k];
        weights.set(k, w);
        let total = order.reduce((s, x) => s + weights.get(x)!, 0);
        while (total > 50 && order[0] !== k) total -= weights.get(order.shift()!)!;
      } else {
        expect(c.delete(k)).toBe(order.includes(k));
        order = order.filter((x) => x !== k);
      }
      expect([...c.keys()]).toEqual(order);
      expect(c.weight).toBe(order.reduce((s, x) => s + weights.get(x)!, 0));
    }
  });
});
