/**
 * Builds the columnar snapshot (worker/catalog/format.ts) from items streamed in any order.
 * Memory stays bounded by the columns: ids are fingerprinted as they arrive and kept only for
 * the few thousand rows of the popularity order.
 */
import { isDeal } from './deal-tags';
import { fingerprint, fpLo } from './fingerprint';
import { encodeSnapshot, FLAG_DEAL, FLAG_IN_STOCK, type Codes } from './format';
import { findRow } from './row-index';

export interface BuildRow {
  id: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  inStock: boolean;
  tags: readonly string[] | null;
  popularity: number;
}

export const TOP_ALL = 5000;
export const TOP_PER_CATEGORY = 200;

/** Two ids with the same fingerprint under this seed: build again with another seed. */
export class FingerprintCollision extends Error {}

interface Ranked {
  p: number;
  id: string;
}
const byPopularity = (a: Ranked, b: Ranked) => b.p - a.p || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The `limit` most popular seen so far (sorted and cut whenever it doubles: O(n log limit)). */
class TopKeeper {
  private xs: Ranked[] = [];
  constructor(private readonly limit: number) {}
  add(p: number, id: string) {
    this.xs.push({ p, id });
    if (this.xs.length >= 2 * this.limit) this.cut();
  }
  cut(): Ranked[] {
    this.xs.sort(byPopularity);
    if (this.xs.length > this.limit) this.xs.length = this.limit;
    return this.xs;
  }
}

class Growable<T extends Uint32Array | Float64Array | Float32Array | Uint8Array> {
  n = 0;
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number) {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

const grow = <T extends Uint32Array | Float64Array | Float32Array | Uint8Array>(make: (n: number) => T) => new Growable(make(1024), make);

export class SnapshotWriter {
  private readonly hi = grow((n) => new Uint32Array(n));
  private readonly lo = grow((n) => new Uint32Array(n));
  private readonly cat = grow((n) => new Uint32Array(n));
  private readonly brand = grow((n) => new Uint32Array(n));
  private readonly price = grow((n) => new Float64Array(n));
  private readonly pop = grow((n) => new Float32Array(n));
  private readonly flags = grow((n) => new Uint8Array(n));
  private readonly catCodes = new Map<string, number>();
  private readonly brandCodes = new Map<string, number>();
  private readonly topAll: TopKeeper;
  private readonly topByCat: TopKeeper[] = [];

  constructor(
    readonly seed: number,
    private readonly limits = { all: TOP_ALL, perCategory: TOP_PER_CATEGORY },
  ) {
    this.topAll = new TopKeeper(limits.all);
  }

  get size(): number {
    return this.hi.n;
  }

  add(r: BuildRow): void {
    this.hi.push(fingerprint(r.id, this.seed));
    this.lo.push(fpLo);
    const c = code(this.catCodes, r.category);
    this.cat.push(c);
    this.brand.push(code(this.brandCodes, r.brand));
    this.price.push(r.price ?? NaN);
    const p = Math.fround(r.popularity);
    this.pop.push(p);
    this.flags.push((r.inStock ? FLAG_IN_STOCK : 0) | (isDeal(r.tags) ? FLAG_DEAL : 0));
    this.topAll.add(p, r.id);
    if (c) (this.topByCat[c - 1] ??= new TopKeeper(this.limits.perCategory)).add(p, r.id);
  }

  /** The encoded snapshot. Throws FingerprintCollision when two ids share a fingerprint. */
  finish(): Uint8Array {
    const n = this.hi.n;
    const hi = this.hi.a;
    const lo = this.lo.a;
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    perm.sort((a, b) => hi[a]! - hi[b]! || lo[a]! - lo[b]!);
    const categories = [...this.catCodes.keys()];
    const brands = [...this.brandCodes.keys()];
    // Uint16 codes while the dictionary fits (code 0 is "none"); a serving isolate may append a few.
    const codes = (size: number): Codes => (size < 0xffff ? new Uint16Array(n) : new Uint32Array(n));
    const out = {
      fpHi: new Uint32Array(n),
      fpLo: new Uint32Array(n),
      category: codes(categories.length),
      brand: codes(brands.length),
      price: new Float64Array(n),
      popularity: new Float32Array(n),
      flags: new Uint8Array(n),
    };
    for (let r = 0; r < n; r++) {
      const i = perm[r]!;
      out.fpHi[r] = hi[i]!;
      out.fpLo[r] = lo[i]!;
      if (r > 0 && out.fpHi[r] === out.fpHi[r - 1] && out.fpLo[r] === out.fpLo[r - 1]) throw new FingerprintCollision(`fingerprint collision under seed ${this.seed}`);
      out.category[r] = this.cat.a[i]!;
      out.brand[r] = this.brand.a[i]!;
      out.price[r] = this.price.a[i]!;
      out.popularity[r] = this.pop.a[i]!;
      out.flags[r] = this.flags.a[i]!;
    }
    // The ids of the rows in the popularity order, each once.
    const nameIndex = new Map<string, number>();
    const names: string[] = [];
    const listOf = (k: TopKeeper) =>
      Uint32Array.from(k.cut(), ({ id }) => {
        let x = nameIndex.get(id);
        if (x === undefined) {
          nameIndex.set(id, (x = names.length));
          names.push(id);
        }
        return x;
      });
    const topAll = listOf(this.topAll);
    const topByCategory = categories.map((_, c) => (this.topByCat[c] ? listOf(this.topByCat[c]) : new Uint32Array(0)));
    const enc = new TextEncoder();
    const encoded = names.map((id) => enc.encode(id));
    const nameOffsets = new Uint32Array(names.length + 1);
    encoded.forEach((b, i) => (nameOffsets[i + 1] = nameOffsets[i]! + b.length));
    const nameBytes = new Uint8Array(nameOffsets[names.length]!);
    encoded.forEach((b, i) => nameBytes.set(b, nameOffsets[i]!));
    const nameRow = Uint32Array.from(names, (id) => findRow(out.fpHi, out.fpLo, null, fingerprint(id, this.seed), fpLo));
    return encodeSnapshot({ ...out, seed: this.seed, categories, brands, nameRow, nameOffsets, nameBytes, topAll, topByCategory });
  }
}

function code(codes: Map<string, number>, v: string | null): number {
  if (v === null || v === undefined) return 0;
  let c = codes.get(v);
  if (c === undefined) codes.set(v, (c = codes.size + 1));
  return c;
}
