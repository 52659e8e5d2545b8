/**
 * One isolate's catalog: the snapshot's columns (if any) plus the change log applied on top.
 * A changed item that is in the snapshot is patched in its row (the columns belong to this
 * isolate); a new item goes into the overlay, a small list of ItemFacts bounded by the delta;
 * a removed one is flagged. Without a snapshot the overlay is the whole catalog.
 */
import { fingerprint, fpLo } from './fingerprint';
import { FLAG_DEAL, FLAG_IN_STOCK, type Codes, type SnapshotColumns } from './format';
import { findRow, prefixStarts } from './row-index';
import { firstPassing } from './first-passing';
import type { ItemFacts, ServingCatalog } from './types';

/** Per-isolate flags next to the snapshot's own. */
const FLAG_REMOVED = 4;
/** Patched since the snapshot: its place in the precomputed popularity order may be wrong. */
const FLAG_TOUCHED = 8;

export interface Change {
  seq: number;
  id: string;
  /** null: removed */
  item: ItemFacts | null;
}

interface Dictionary {
  values: string[];
  codes: Map<string, number>;
  /** largest code the column can hold */
  max: number;
}

function dictionary(values: string[], col: Codes | null): Dictionary {
  return { values: [...values], codes: new Map(values.map((v, i) => [v, i + 1])), max: col instanceof Uint32Array ? 0xffffffff : 0xffff };
}

/** Code of `v`, added to this isolate's copy of the dictionary when new; -1 when the column cannot hold it. */
function codeOf(d: Dictionary, v: string | null): number {
  if (v === null) return 0;
  let c = d.codes.get(v);
  if (c === undefined) {
    if (d.values.length + 1 > d.max) return -1;
    d.values.push(v);
    d.codes.set(v, (c = d.values.length));
  }
  return c;
}

const utf8 = new TextDecoder();

const before = (a: ItemFacts, b: ItemFacts) => a.popularity > b.popularity || (a.popularity === b.popularity && a.id < b.id);

/**
 * Items whose facts a view keeps built (~100 bytes of heap each): a request looks up hundreds of
 * candidates, mostly the same popular and neighbouring items as the requests before it, and a
 * lookup through the columns (hash, search, a new object) costs ~20 times a Map hit.
 */
const MEMO_ITEMS = 20_000;

export class CatalogView implements ServingCatalog {
  private readonly starts: Uint32Array | null;
  private readonly cats: Dictionary;
  private readonly brands: Dictionary;
  private readonly names: (string | undefined)[] = [];
  private readonly overlayIndex = new Map<string, number>();
  private readonly overlay: (ItemFacts | null)[] = [];
  /** snapshot rows patched in place -> their ids */
  private readonly touched = new Map<number, string>();
  /** facts() answers already built (null: not in the catalog); applyOne() drops an id's on every change */
  private readonly memo = new Map<string, ItemFacts | null>();
  /** touched rows and overlay items, most popular first; rebuilt after a change */
  private extras: ItemFacts[] | null = null;
  private live: number;
  private applied: number;

  private constructor(
    readonly snapshotId: string | null,
    private readonly cols: SnapshotColumns | null,
    seq: number,
  ) {
    this.applied = seq;
    this.live = cols?.header.items ?? 0;
    this.starts = cols ? prefixStarts(cols.fpHi) : null;
    this.cats = dictionary(cols?.header.categories ?? [], cols?.category ?? null);
    this.brands = dictionary(cols?.header.brands ?? [], cols?.brand ?? null);
  }

  static empty(): CatalogView {
    return new CatalogView(null, null, 0);
  }

  static fromSnapshot(id: string, seq: number, cols: SnapshotColumns): CatalogView {
    return new CatalogView(id, cols, seq);
  }

  get size(): number {
    return this.live;
  }

  get seq(): number {
    return this.applied;
  }

  get version(): string {
    return `${this.snapshotId ?? 'none'}@${this.applied}`;
  }

  /** Bytes of the snapshot this view reads its columns from (0 without one). */
  get snapshotBytes(): number {
    return this.cols?.fpHi.buffer.byteLength ?? 0;
  }

  /** Items held as objects (overlay) rather than in snapshot rows: the delta's share of memory. */
  get overlaySize(): number {
    return this.overlay.length;
  }

  /** The item's live snapshot row, or -1 (not in the snapshot, removed, or held in the overlay). */
  row(id: string): number {
    if (!this.cols || this.overlayIndex.has(id)) return -1;
    const r = this.snapshotRow(id);
    return r >= 0 && !(this.cols.flags[r]! & FLAG_REMOVED) ? r : -1;
  }

  /** Facts of a live snapshot row (from row()), built from the columns. */
  factsAt(r: number, id: string): ItemFacts {
    const c = this.cols!;
    const cat = c.category[r]!;
    const brand = c.brand[r]!;
    const price = c.price[r]!;
    const flags = c.flags[r]!;
    return {
      id,
      category: cat ? this.cats.values[cat - 1]! : null,
      brand: brand ? this.brands.values[brand - 1]! : null,
      price: Number.isNaN(price) ? null : price,
      inStock: (flags & FLAG_IN_STOCK) !== 0,
      popularity: c.popularity[r]!,
      deal: (flags & FLAG_DEAL) !== 0,
    };
  }

  facts(id: string): ItemFacts | undefined {
    const known = this.memo.get(id);
    if (known !== undefined) return known ?? undefined;
    const k = this.overlayIndex.get(id);
    let f: ItemFacts | undefined;
    if (k !== undefined) f = this.overlay[k] ?? undefined;
    else {
      const r = this.row(id);
      f = r >= 0 ? this.factsAt(r, id) : undefined;
    }
    if (this.memo.size >= MEMO_ITEMS) this.memo.clear();
    this.memo.set(id, f ?? null);
    return f;
  }

  has(id: string): boolean {
    const k = this.overlayIndex.get(id);
    return k !== undefined ? this.overlay[k] !== null : this.row(id) >= 0;
  }

  categories(): string[] {
    const out = new Set(this.cats.values);
    for (const f of this.overlay) if (f?.category) out.add(f.category);
    return [...out].sort();
  }

  popular(n: number, ok: (f: ItemFacts) => boolean, category?: string): ItemFacts[] {
    return firstPassing(this.popularIter(category), n, ok);
  }

  /**
   * Most popular first: the snapshot's precomputed order (top rows overall, or of one category),
   * merged with the changed and new items. Items beyond the precomputed order are not listed.
   */
  *popularIter(category?: string): Generator<ItemFacts> {
    const c = this.cols;
    let list: Uint32Array | undefined;
    if (c) {
      if (category === undefined) list = c.topAll;
      else {
        const code = this.cats.codes.get(category);
        list = code !== undefined ? c.topByCategory[code - 1] : undefined;
      }
    }
    const extras = this.sortedExtras();
    let i = 0;
    let j = 0;
    let fromList: ItemFacts | undefined;
    const nextFromList = (): ItemFacts | undefined => {
      while (list && i < list.length) {
        const name = list[i++]!;
        const r = c!.nameRow[name]!;
        // Changed rows are in `extras`, with their new popularity.
        if (c!.flags[r]! & (FLAG_REMOVED | FLAG_TOUCHED)) continue;
        return this.factsAt(r, this.name(name));
      }
      return undefined;
    };
    const nextExtra = (): ItemFacts | undefined => {
      while (j < extras.length) {
        const f = extras[j++]!;
        if (category === undefined || f.category === category) return f;
      }
      return undefined;
    };
    fromList = nextFromList();
    let extra = nextExtra();
    while (fromList || extra) {
      if (fromList && (!extra || before(fromList, extra))) {
        yield fromList;
        fromList = nextFromList();
      } else {
        yield extra!;
        extra = nextExtra();
      }
    }
  }

  /** Apply change-log rows in seq order. */
  apply(changes: Change[]): void {
    if (!changes.length) return;
    for (const ch of changes) this.applyOne(ch.id, ch.item);
    this.applied = changes[changes.length - 1]!.seq;
    this.extras = null;
  }

  private applyOne(id: string, item: ItemFacts | null): void {
    this.memo.delete(id);
    const k = this.overlayIndex.get(id);
    if (k !== undefined) {
      this.live += Number(!!item) - Number(!!this.overlay[k]);
      this.overlay[k] = item;
      return;
    }
    const c = this.cols;
    const r = c ? this.snapshotRow(id) : -1;
    if (r < 0) {
      if (item) this.addOverlay(id, item);
      return;
    }
    const wasLive = !(c!.flags[r]! & FLAG_REMOVED);
    const cat = item ? codeOf(this.cats, item.category) : 0;
    const brand = item ? codeOf(this.brands, item.brand) : 0;
    if (!item || cat < 0 || brand < 0) {
      // Removed, or a code the column cannot hold: the row goes, the item (if any) lives in the overlay.
      c!.flags[r]! |= FLAG_REMOVED;
      this.touched.delete(r);
      if (wasLive) this.live -= 1;
      if (item) this.addOverlay(id, item);
      return;
    }
    c!.category[r] = cat;
    c!.brand[r] = brand;
    c!.price[r] = item.price ?? NaN;
    c!.popularity[r] = item.popularity;
    c!.flags[r] = (item.inStock ? FLAG_IN_STOCK : 0) | (item.deal ? FLAG_DEAL : 0) | FLAG_TOUCHED;
    this.touched.set(r, id);
    if (!wasLive) this.live += 1;
  }

  private addOverlay(id: string, item: ItemFacts): void {
    this.overlayIndex.set(id, this.overlay.length);
    this.overlay.push(item);
    this.live += 1;
  }

  private snapshotRow(id: string): number {
    const c = this.cols!;
    const hi = fingerprint(id, c.header.seed);
    return findRow(c.fpHi, c.fpLo, this.starts, hi, fpLo);
  }

  private name(i: number): string {
    let s = this.names[i];
    if (s === undefined) {
      const o = this.cols!.nameOffsets;
      s = this.names[i] = utf8.decode(this.cols!.nameBytes.subarray(o[i]!, o[i + 1]!));
    }
    return s;
  }

  private sortedExtras(): ItemFacts[] {
    if (!this.extras) {
      const xs: ItemFacts[] = [];
      for (const [r, id] of this.touched) xs.push(this.factsAt(r, id));
      for (const f of this.overlay) if (f) xs.push(f);
      this.extras = xs.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    }
    return this.extras;
  }
}
