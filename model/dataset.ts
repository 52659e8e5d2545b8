/**
 * Indexed data set: item and attribute vocabularies, and each user's interaction sequence
 * in time order (ties in time broken by item id, numerically when both ids are numbers).
 * A user's repeated interactions with one item keep the last one (its position in time).
 *
 * Built by `DatasetBuilder` from events fed one at a time (columns in typed arrays, no object per
 * event): `buildDataset` for rows already in memory, `readDataset` streaming both files (1M items /
 * 5M events in a few hundred MB). Per-user arrays are views into one flat buffer per column.
 */
import { DEVICES, EVENT_STRENGTH, EVENT_TYPES, type Device, type EventRow, type EventType, forEachEvent, forEachItem, type ItemRow, type ParseOptions } from './io';

export interface Dataset {
  items: ItemRow[];
  itemIds: string[];
  itemIndex: Map<string, number>;
  /** Attribute vocabulary: category:*, brand:*, price:<band>, tag:* */
  attributes: string[];
  /** Attribute indices of each item */
  itemAttrs: number[][];
  users: string[];
  /** Item indices of each user in time order (oldest first), one entry per distinct item */
  seqs: Int32Array[];
  /** Strongest event strength per sequence entry (view 1 … purchase 5) */
  strengths: Float32Array[];
  /** Timestamps per sequence entry */
  times: Float64Array[];
  /**
   * UTC hour of day (0–23) per sequence entry, when the timestamps are epoch times
   * (every timestamp ≥ 1e8: epoch seconds below 1e11, milliseconds from 1e11; ISO dates count as ms);
   * absent for positions or other unit-less orders (e.g. Beauty).
   */
  hours?: Uint8Array[];
  /** Device per sequence entry (index into DEVICES: 0 mobile, 1 desktop, 2 other; empty = other), when the events have a `device` column */
  devices?: Uint8Array[];
  summary: {
    users: number;
    items: number;
    events: number;
    interactions: number;
    attributes: number;
    items_without_events: number;
    event_items_missing_from_catalog: number;
    event_types: Record<string, number>;
  };
}

export const PRICE_BANDS = 5;
/** Device code for events without a device when the column exists (= 'other'). */
export const DEVICE_DEFAULT = DEVICES.indexOf('other');

export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** UTC hour of an epoch timestamp (seconds below 1e11, else milliseconds). */
export function hourOf(ts: number): number {
  const ms = ts >= 1e11 ? ts : ts * 1000;
  return ((Math.floor(ms / 3_600_000) % 24) + 24) % 24;
}

/** Smallest timestamp treated as an epoch time (1973 in seconds). */
export const EPOCH_MIN = 1e8;

class Grow<T extends Int32Array | Float64Array | Uint8Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(x: number): void {
    if (this.length === this.data.length) {
      const d = this.make(Math.max(1024, this.data.length * 2));
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = x;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

const TYPE_INDEX = new Map<string, number>(EVENT_TYPES.map((t, i) => [t, i]));
const TYPE_STRENGTH = Float32Array.from(EVENT_TYPES, (t) => EVENT_STRENGTH[t]);

/** Accumulates a catalog, then events, and builds the Dataset (see `buildDataset`, `readDataset`). */
export class DatasetBuilder {
  readonly items: ItemRow[] = [];
  readonly itemIndex = new Map<string, number>();
  private readonly userIndex = new Map<string, number>();
  private readonly users: string[] = [];
  private catalogSize = -1;
  private readonly evUser = new Grow(new Int32Array(1024), (n) => new Int32Array(n));
  private readonly evItem = new Grow(new Int32Array(1024), (n) => new Int32Array(n));
  private readonly evTs = new Grow(new Float64Array(1024), (n) => new Float64Array(n));
  private readonly evType = new Grow(new Uint8Array(1024), (n) => new Uint8Array(n));
  private readonly evDevice = new Grow(new Uint8Array(1024), (n) => new Uint8Array(n));
  private anyDevice = false;
  private minTs = Infinity;
  private readonly typeCounts = new Map<EventType, number>();

  hasItem(id: string): boolean {
    return this.itemIndex.has(id);
  }

  /** Catalog row; all catalog rows come before the first event. */
  addItem(it: ItemRow): void {
    if (this.catalogSize >= 0) throw new Error('DatasetBuilder: catalog items must be added before events');
    this.itemIndex.set(it.id, this.items.length);
    this.items.push(it);
  }

  addEvent(user: string, item: string, ts: number, type: EventType, device?: Device): void {
    if (this.catalogSize < 0) this.catalogSize = this.items.length;
    let u = this.userIndex.get(user);
    if (u === undefined) {
      u = this.users.length;
      this.userIndex.set(user, u);
      this.users.push(user);
    }
    let i = this.itemIndex.get(item);
    if (i === undefined) {
      i = this.items.length;
      this.itemIndex.set(item, i);
      this.items.push({ id: item, tags: [] });
    }
    this.evUser.push(u);
    this.evItem.push(i);
    this.evTs.push(ts);
    if (ts < this.minTs) this.minTs = ts;
    this.evType.push(TYPE_INDEX.get(type)!);
    this.typeCounts.set(type, (this.typeCounts.get(type) ?? 0) + 1);
    if (device !== undefined) this.anyDevice = true;
    this.evDevice.push(device === undefined ? DEVICE_DEFAULT : DEVICES.indexOf(device));
  }

  get events(): number {
    return this.evUser.length;
  }

  build(progress?: (done: number, total: number) => void): Dataset {
    if (this.catalogSize < 0) this.catalogSize = this.items.length;
    const items = this.items;
    const n = items.length;
    const { attributes, itemAttrs } = attributesOf(items);

    // events grouped by user (counting sort: stable, file order within a user)
    const nu = this.users.length;
    const ne = this.evUser.length;
    const evUser = this.evUser.view();
    const evItem = this.evItem.view();
    const evTs = this.evTs.view();
    const evType = this.evType.view();
    const evDevice = this.evDevice.view();
    const start = new Int32Array(nu + 1);
    for (let e = 0; e < ne; e++) start[evUser[e]! + 1]!++;
    for (let u = 0; u < nu; u++) start[u + 1]! += start[u]!;
    const order = new Int32Array(ne);
    {
      const fill = start.slice(0, nu);
      for (let e = 0; e < ne; e++) order[fill[evUser[e]!]!++] = e;
    }
    const withHours = ne > 0 && this.minTs >= EPOCH_MIN;
    const withDevices = this.anyDevice;
    // flat output columns; each user's arrays are views into them
    const outItem = new Int32Array(ne);
    const outStr = new Float32Array(ne);
    const outTs = new Float64Array(ne);
    const outHour = withHours ? new Uint8Array(ne) : undefined;
    const outDev = withDevices ? new Uint8Array(ne) : undefined;
    const seqs: Int32Array[] = new Array(nu);
    const strengths: Float32Array[] = new Array(nu);
    const times: Float64Array[] = new Array(nu);
    const hours: Uint8Array[] | undefined = withHours ? new Array(nu) : undefined;
    const devices: Uint8Array[] | undefined = withDevices ? new Array(nu) : undefined;
    const stamp = new Int32Array(n).fill(-1);
    const lastPos = new Int32Array(n);
    const maxStr = new Float32Array(n);
    const seen = new Uint8Array(n);
    const itemIds = items.map((it) => it.id);
    const byTime = (a: number, b: number) => evTs[a]! - evTs[b]! || compareIds(itemIds[evItem[a]!]!, itemIds[evItem[b]!]!);
    const l: number[] = [];
    let out = 0;
    for (let u = 0; u < nu; u++) {
      const s0 = start[u]!;
      const m = start[u + 1]! - s0;
      l.length = m;
      let sorted = true;
      for (let p = 0; p < m; p++) {
        l[p] = order[s0 + p]!;
        if (p > 0 && byTime(l[p - 1]!, l[p]!) > 0) sorted = false;
      }
      if (!sorted) l.sort(byTime);
      // keep the last occurrence of each item; strength = max over occurrences
      for (let p = 0; p < m; p++) {
        const e = l[p]!;
        const i = evItem[e]!;
        const st = TYPE_STRENGTH[evType[e]!]!;
        if (stamp[i] !== u) {
          stamp[i] = u;
          maxStr[i] = st;
        } else if (st > maxStr[i]!) maxStr[i] = st;
        lastPos[i] = p;
      }
      const o0 = out;
      for (let p = 0; p < m; p++) {
        const e = l[p]!;
        const i = evItem[e]!;
        if (lastPos[i] !== p) continue;
        outItem[out] = i;
        outStr[out] = maxStr[i]!;
        outTs[out] = evTs[e]!;
        if (outHour) outHour[out] = hourOf(evTs[e]!);
        if (outDev) outDev[out] = evDevice[e]!;
        seen[i] = 1;
        out++;
      }
      seqs[u] = outItem.subarray(o0, out);
      strengths[u] = outStr.subarray(o0, out);
      times[u] = outTs.subarray(o0, out);
      if (hours) hours[u] = outHour!.subarray(o0, out);
      if (devices) devices[u] = outDev!.subarray(o0, out);
      if (progress && (u & 4095) === 4095) progress(u + 1, nu);
    }
    progress?.(nu, nu);
    let seenCount = 0;
    for (let i = 0; i < n; i++) seenCount += seen[i]!;
    const eventTypes: Record<string, number> = {};
    for (const [t, c] of this.typeCounts) eventTypes[t] = c;
    const ds: Dataset = {
      items,
      itemIds,
      itemIndex: this.itemIndex,
      attributes,
      itemAttrs,
      users: this.users,
      seqs,
      strengths,
      times,
      summary: {
        users: nu,
        items: n,
        events: ne,
        interactions: out,
        attributes: attributes.length,
        items_without_events: n - seenCount,
        event_items_missing_from_catalog: n - this.catalogSize,
        event_types: eventTypes,
      },
    };
    if (hours) ds.hours = hours;
    if (devices) ds.devices = devices;
    return ds;
  }
}

/**
 * Attribute vocabulary (category:*, brand:*, price:<band 0–4> by global quintiles, tag:*; sorted
 * within kind by compareIds) and each item's attribute indices (category, brand, price, tags in order,
 * repeats dropped). Built from per-kind value maps, without a key string per item attribute.
 */
function attributesOf(items: ItemRow[]): { attributes: string[]; itemAttrs: number[][] } {
  const n = items.length;
  let np = 0;
  for (let i = 0; i < n; i++) if (items[i]!.price !== undefined) np++;
  const prices = new Float64Array(np);
  np = 0;
  for (let i = 0; i < n; i++) if (items[i]!.price !== undefined) prices[np++] = items[i]!.price!;
  prices.sort();
  const cuts: number[] = [];
  for (let b = 1; b < PRICE_BANDS; b++) if (prices.length) cuts.push(prices[Math.floor((b * prices.length) / PRICE_BANDS)]!);
  const band = (p: number) => {
    let b = 0;
    while (b < cuts.length && p >= cuts[b]!) b++;
    return b;
  };
  const cats = new Map<string, number>();
  const brands = new Map<string, number>();
  const bands = new Map<string, number>();
  const tags = new Map<string, number>();
  for (const it of items) {
    if (it.category) cats.set(it.category, 0);
    if (it.brand) brands.set(it.brand, 0);
    if (it.price !== undefined && prices.length) bands.set(String(band(it.price)), 0);
    for (const t of it.tags) tags.set(t, 0);
  }
  const attributes: string[] = [];
  for (const [kind, m] of [['category', cats], ['brand', brands], ['price', bands], ['tag', tags]] as const) {
    const vals = Array.from(m.keys()).sort(compareIds);
    for (const v of vals) {
      m.set(v, attributes.length);
      attributes.push(`${kind}:${v}`);
    }
  }
  const itemAttrs: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    const k: number[] = [];
    if (it.category) k.push(cats.get(it.category)!);
    if (it.brand) k.push(brands.get(it.brand)!);
    if (it.price !== undefined && prices.length) k.push(bands.get(String(band(it.price)))!);
    for (const t of it.tags) {
      const x = tags.get(t)!;
      if (!k.includes(x)) k.push(x);
    }
    itemAttrs[i] = k;
  }
  return { attributes, itemAttrs };
}

export function buildDataset(events: EventRow[], catalog: ItemRow[]): Dataset {
  const b = new DatasetBuilder();
  for (const it of catalog) b.addItem(it);
  for (const e of events) b.addEvent(e.user, e.item, e.ts, e.type, e.device);
  return b.build();
}

export interface ReadProgress {
  /** A progress bar factory (model/progress.ts `bar`) for the reading and indexing phases. */
  bar?: (label: string, total: number) => { update(done: number, total?: number): void; stop(): void };
}

/**
 * Streams the items file, then the events file, into a Dataset (csv-parse stream or NDJSON lines;
 * one short-lived row object at a time). Same result as `buildDataset(parseEvents(…), parseItems(…))`.
 */
export async function readDataset(eventsFile: string, itemsFile: string, opts: ParseOptions & ReadProgress = {}): Promise<{ ds: Dataset; skipped: { events: number; items: number } }> {
  const { statSync } = await import('node:fs');
  const size = (f: string) => {
    try {
      return statSync(f).size;
    } catch (e) {
      throw new Error(`cannot read ${f}: ${(e as Error).message}`);
    }
  };
  const b = new DatasetBuilder();
  const ib = opts.bar?.('reading items (bytes)', size(itemsFile));
  const it = await forEachItem(itemsFile, (row) => b.addItem(row), (id) => b.hasItem(id), { ...opts, progress: (x) => ib?.update(x) });
  ib?.stop();
  const eb = opts.bar?.('reading events (bytes)', size(eventsFile));
  const ev = await forEachEvent(eventsFile, (e) => b.addEvent(e.user, e.item, e.ts, e.type, e.device), { ...opts, progress: (x) => eb?.update(x) });
  eb?.stop();
  const bb = opts.bar?.('indexing users', 1);
  const ds = b.build((d, t) => bb?.update(d, t));
  bb?.stop();
  return { ds, skipped: { events: ev.skipped, items: it.skipped } };
}

/** Training sequences with the last `drop` entries of each user removed. */
export function truncated(ds: Dataset, drop: number): { seqs: Int32Array[]; strengths: Float32Array[]; times: Float64Array[]; hours?: Uint8Array[]; devices?: Uint8Array[] } {
  const cut = <T extends Int32Array | Float32Array | Float64Array | Uint8Array>(s: T) => s.subarray(0, Math.max(0, s.length - drop)) as T;
  const out: ReturnType<typeof truncated> = { seqs: ds.seqs.map(cut), strengths: ds.strengths.map(cut), times: ds.times.map(cut) };
  if (ds.hours) out.hours = ds.hours.map(cut);
  if (ds.devices) out.devices = ds.devices.map(cut);
  return out;
}
