/**
 * Neighbour shards: each item's retrieval lists, split into files by a hash of the item id so
 * that a request reads only the shards of the items in its history (docs/model-contract.md).
 * Plain TypeScript over ArrayBuffers: the trainer writes it in Node, the worker reads it.
 *
 * Layout (little-endian):
 *   u32 magic "P13S", u32 count, u32 hash[count] (ascending), u32 offset[count]
 *   entry: u8 id length, id (UTF-8), attributes, f32 scale of the collaborative weights,
 *          u8 collaborative count, u8 content count, then per neighbour: u8 id length, id,
 *          i8 weight (collaborative: × scale; content: / 127), u8 popularity (/ 255),
 *          i8 trend (/ 127), attributes
 *   attributes: u8 count, then each index into the model's attribute vocabulary as a LEB128 varint
 * A reader binary-searches the hash column and compares ids: no per-item objects are built.
 */
import { fnv1a } from '../../worker/lib/fnv';

const MAGIC = 0x53333150; // "P13S"

/** An item id's hash (FNV-1a): picks its shard and orders the shard's hash column. */
export const idHash = fnv1a;

export function shardOf(id: string, shards: number): number {
  return idHash(id) % shards;
}

export interface Neighbour {
  id: string;
  /** indices into the model's attribute vocabulary (ModelLists.attributes) */
  attrs: number[];
  /** collaborative weight, or content similarity for content neighbours */
  w: number;
  pop: number;
  trend: number;
}

export interface NeighbourEntry {
  id: string;
  attrs: number[];
  /** collaborative neighbours first (by weight), then content neighbours */
  collaborative: Neighbour[];
  content: Neighbour[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function varints(xs: number[]): number[] {
  const out: number[] = [Math.min(255, xs.length)];
  for (const x0 of xs.slice(0, 255)) {
    let x = x0;
    while (x >= 0x80) {
      out.push((x & 0x7f) | 0x80);
      x >>>= 7;
    }
    out.push(x);
  }
  return out;
}

const clampByte = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.round(x)));

export function encodeShard(entries: NeighbourEntry[]): Uint8Array {
  const rows = entries.map((e) => ({ e, h: idHash(e.id) })).sort((a, b) => a.h - b.h || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0));
  const parts: Uint8Array[] = [];
  let size = 0;
  const offsets = new Uint32Array(rows.length);
  const headerBytes = 8 + 8 * rows.length;
  for (let r = 0; r < rows.length; r++) {
    const { e } = rows[r]!;
    offsets[r] = headerBytes + size;
    const cf = e.collaborative.slice(0, 255);
    const ct = e.content.slice(0, 255);
    let max = 0;
    for (const n of cf) max = Math.max(max, Math.abs(n.w));
    const scale = max > 0 ? max / 127 : 1;
    const id = enc.encode(e.id);
    const nb = [...cf, ...ct].map((n) => enc.encode(n.id));
    const ownAttrs = varints(e.attrs);
    const nbAttrs = [...cf, ...ct].map((n) => varints(n.attrs));
    let len = 1 + id.length + ownAttrs.length + 4 + 2;
    nb.forEach((b, j) => (len += 1 + b.length + 3 + nbAttrs[j]!.length));
    const buf = new Uint8Array(len);
    const dv = new DataView(buf.buffer);
    let o = 0;
    buf[o++] = id.length;
    buf.set(id, o);
    o += id.length;
    buf.set(ownAttrs, o);
    o += ownAttrs.length;
    dv.setFloat32(o, scale, true);
    o += 4;
    buf[o++] = cf.length;
    buf[o++] = ct.length;
    [...cf, ...ct].forEach((n, j) => {
      const b = nb[j]!;
      buf[o++] = b.length;
      buf.set(b, o);
      o += b.length;
      dv.setInt8(o++, clampByte(j < cf.length ? n.w / scale : n.w * 127, -127, 127));
      buf[o++] = clampByte(n.pop * 255, 0, 255);
      dv.setInt8(o++, clampByte(n.trend * 127, -127, 127));
      buf.set(nbAttrs[j]!, o);
      o += nbAttrs[j]!.length;
    });
    parts.push(buf);
    size += len;
  }
  const out = new Uint8Array(headerBytes + size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, rows.length, true);
  rows.forEach((r, i) => {
    dv.setUint32(8 + 4 * i, r.h, true);
    dv.setUint32(8 + 4 * rows.length + 4 * i, offsets[i]!, true);
  });
  let o = headerBytes;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Read-only view over one shard's bytes. */
export class ShardReader {
  readonly count: number;
  private readonly bytes: Uint8Array;
  private readonly dv: DataView;

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
    if (buffer.byteLength < 8 || this.dv.getUint32(0, true) !== MAGIC) throw new Error('not a neighbour shard');
    this.count = this.dv.getUint32(4, true);
    if (8 + 8 * this.count > buffer.byteLength) throw new Error('truncated neighbour shard');
  }

  get byteLength(): number {
    return this.bytes.byteLength;
  }

  private hashAt(i: number): number {
    return this.dv.getUint32(8 + 4 * i, true);
  }

  private idAt(off: number): string {
    const len = this.bytes[off]!;
    return dec.decode(this.bytes.subarray(off + 1, off + 1 + len));
  }

  /** The entry's byte offset, or -1. */
  find(id: string): number {
    const h = idHash(id);
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashAt(mid) < h) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.count && this.hashAt(i) === h; i++) {
      const off = this.dv.getUint32(8 + 4 * this.count + 4 * i, true);
      if (this.idAt(off) === id) return off;
    }
    return -1;
  }

  get(id: string): NeighbourEntry | undefined {
    const off = this.find(id);
    return off < 0 ? undefined : this.decode(off);
  }

  private decode(off: number): NeighbourEntry {
    const b = this.bytes;
    let o = off;
    const idLen = b[o++]!;
    const id = dec.decode(b.subarray(o, o + idLen));
    o += idLen;
    const readAttrs = () => {
      const n = b[o++]!;
      const out: number[] = new Array(n);
      for (let j = 0; j < n; j++) {
        let x = 0;
        let shift = 0;
        let byte: number;
        do {
          byte = b[o++]!;
          x |= (byte & 0x7f) << shift;
          shift += 7;
        } while (byte & 0x80);
        out[j] = x >>> 0;
      }
      return out;
    };
    const attrs = readAttrs();
    const scale = this.dv.getFloat32(o, true);
    o += 4;
    const nCf = b[o++]!;
    const nCt = b[o++]!;
    const collaborative: Neighbour[] = [];
    const content: Neighbour[] = [];
    for (let j = 0; j < nCf + nCt; j++) {
      const len = b[o++]!;
      const nid = dec.decode(b.subarray(o, o + len));
      o += len;
      const q = this.dv.getInt8(o++);
      const pop = b[o++]! / 255;
      const trend = this.dv.getInt8(o++) / 127;
      const na = readAttrs();
      if (j < nCf) collaborative.push({ id: nid, w: Math.fround(q * scale), pop, trend, attrs: na });
      else content.push({ id: nid, w: q / 127, pop, trend, attrs: na });
    }
    return { id, attrs, collaborative, content };
  }
}
