/**
 * The columnar catalog snapshot: one binary object, read with typed-array views over the bytes
 * (no per-item copies or objects). Layout, little-endian:
 *
 *   "P13NCAT1" | u32 header length | u32 0 | header JSON (UTF-8) | sections, each 8-byte aligned
 *
 * Rows are sorted by id fingerprint (fpHi, fpLo), so id -> row is a search. Per row: category and
 * brand codes (0 = none, k = dictionary[k - 1]; Uint16 or Uint32 by dictionary size), price (Float64,
 * NaN = none: Float32 cannot hold 19.99, and filters compare it exactly), popularity (Float32),
 * flags (bit 0 in stock, bit 1 deal). The popularity order is kept for the top rows only: `topAll`
 * and `topByCategory` list indices into `names` (the ids of those rows, UTF-8 with offsets, and
 * their rows), most popular first.
 */

export const MAGIC = 'P13NCAT1';
export const FLAG_IN_STOCK = 1;
export const FLAG_DEAL = 2;

const SECTIONS = ['fpHi', 'fpLo', 'category', 'brand', 'price', 'popularity', 'flags', 'nameRow', 'nameOffsets', 'nameBytes', 'topAll', 'topByCategory'] as const;
type Section = (typeof SECTIONS)[number];

export interface SnapshotHeader {
  format: 1;
  items: number;
  /** fingerprint seed (worker/catalog/fingerprint.ts) */
  seed: number;
  categories: string[];
  brands: string[];
  codeBytes: { category: 2 | 4; brand: 2 | 4 };
  names: number;
  /** per category code - 1: how many entries of `topByCategory` it has */
  topByCategory: number[];
  sections: Record<Section, [offset: number, bytes: number]>;
}

export type Codes = Uint16Array | Uint32Array;

export interface SnapshotColumns {
  header: SnapshotHeader;
  fpHi: Uint32Array;
  fpLo: Uint32Array;
  category: Codes;
  brand: Codes;
  price: Float64Array;
  popularity: Float32Array;
  flags: Uint8Array;
  nameRow: Uint32Array;
  nameOffsets: Uint32Array;
  nameBytes: Uint8Array;
  topAll: Uint32Array;
  /** per category code - 1 */
  topByCategory: Uint32Array[];
}

/** What the builder hands to encode: columns already in row (fingerprint) order. */
export type ColumnsInput = Omit<SnapshotColumns, 'header' | 'topByCategory'> & {
  seed: number;
  categories: string[];
  brands: string[];
  topByCategory: Uint32Array[];
};

const align8 = (n: number) => (n + 7) & ~7;

export function encodeSnapshot(c: ColumnsInput): Uint8Array {
  const parts: Record<Section, ArrayBufferView> = {
    fpHi: c.fpHi,
    fpLo: c.fpLo,
    category: c.category,
    brand: c.brand,
    price: c.price,
    popularity: c.popularity,
    flags: c.flags,
    nameRow: c.nameRow,
    nameOffsets: c.nameOffsets,
    nameBytes: c.nameBytes,
    topAll: c.topAll,
    topByCategory: concat(c.topByCategory),
  };
  const header: SnapshotHeader = {
    format: 1,
    items: c.fpHi.length,
    seed: c.seed,
    categories: c.categories,
    brands: c.brands,
    codeBytes: { category: c.category.BYTES_PER_ELEMENT as 2 | 4, brand: c.brand.BYTES_PER_ELEMENT as 2 | 4 },
    names: c.nameRow.length,
    topByCategory: c.topByCategory.map((t) => t.length),
    sections: {} as SnapshotHeader['sections'],
  };
  // Section offsets are relative to the end of the header, so the header can name them.
  let off = 0;
  for (const s of SECTIONS) {
    header.sections[s] = [off, parts[s].byteLength];
    off = align8(off + parts[s].byteLength);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(16 + json.length);
  const out = new Uint8Array(start + off);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 16);
  for (const s of SECTIONS) {
    const v = parts[s];
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), start + header.sections[s][0]);
  }
  return out;
}

function concat(xs: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(xs.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

export class SnapshotFormatError extends Error {}

/** Views over `buf` (not copies): writing a column writes `buf`. Throws SnapshotFormatError on a malformed object. */
export function decodeSnapshot(buf: ArrayBuffer): SnapshotColumns {
  if (buf.byteLength < 16 || new TextDecoder().decode(new Uint8Array(buf, 0, 8)) !== MAGIC) throw new SnapshotFormatError('not a catalog snapshot');
  const len = new DataView(buf).getUint32(8, true);
  if (16 + len > buf.byteLength) throw new SnapshotFormatError('truncated header');
  let header: SnapshotHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 16, len))) as SnapshotHeader;
  } catch {
    throw new SnapshotFormatError('unreadable header');
  }
  if (header.format !== 1) throw new SnapshotFormatError(`unknown snapshot format ${String(header.format)}`);
  const start = align8(16 + len);
  const view = <T>(s: Section, Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
    const [o, bytes] = header.sections[s] ?? [0, -1];
    if (bytes < 0 || start + o + bytes > buf.byteLength || bytes % Ctor.BYTES_PER_ELEMENT) throw new SnapshotFormatError(`bad section ${s}`);
    return new Ctor(buf, start + o, bytes / Ctor.BYTES_PER_ELEMENT);
  };
  const codes = (s: 'category' | 'brand') => (header.codeBytes[s] === 2 ? view(s, Uint16Array) : view(s, Uint32Array));
  const n = header.items;
  const cols: SnapshotColumns = {
    header,
    fpHi: view('fpHi', Uint32Array),
    fpLo: view('fpLo', Uint32Array),
    category: codes('category'),
    brand: codes('brand'),
    price: view('price', Float64Array),
    popularity: view('popularity', Float32Array),
    flags: view('flags', Uint8Array),
    nameRow: view('nameRow', Uint32Array),
    nameOffsets: view('nameOffsets', Uint32Array),
    nameBytes: view('nameBytes', Uint8Array),
    topAll: view('topAll', Uint32Array),
    topByCategory: [],
  };
  for (const s of ['fpHi', 'fpLo', 'category', 'brand', 'price', 'popularity', 'flags'] as const) {
    if (cols[s].length !== n) throw new SnapshotFormatError(`section ${s} has ${cols[s].length} rows, expected ${n}`);
  }
  if (cols.nameOffsets.length !== header.names + 1 || cols.nameRow.length !== header.names) throw new SnapshotFormatError('bad name table');
  const all = view('topByCategory', Uint32Array);
  let at = 0;
  for (const k of header.topByCategory) {
    cols.topByCategory.push(all.subarray(at, at + k));
    at += k;
  }
  if (at !== all.length) throw new SnapshotFormatError('bad per-category order');
  return cols;
}
