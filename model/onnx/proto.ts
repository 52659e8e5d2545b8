/**
 * A minimal, hand-written protobuf encoder for the subset of onnx.proto (ONNX IR) the
 * exporter needs: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto. Field numbers follow https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
 * (field numbers are noted inline). Output is deterministic.
 */

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT32: 6, INT64: 7 } as const;
export type DataType = (typeof DT)[keyof typeof DT];

class Writer {
  private chunks: Uint8Array[] = [];
  private buf: number[] = [];
  private flush(): void {
    if (this.buf.length) {
      this.chunks.push(Uint8Array.from(this.buf));
      this.buf = [];
    }
  }
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.buf.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.buf.push(Number(x));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.flush();
    this.chunks.push(data);
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.buf.push(x);
  }
  finish(): Uint8Array {
    this.flush();
    const n = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export type TensorData = Float32Array | Int8Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array;

export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  data: TensorData;
}

export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'string'; v: string }
  | { kind: 'ints'; v: number[] }
  | { kind: 'tensor'; v: Tensor };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** Dimension: a fixed size or a symbolic name. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: DataType;
  shape: Dim[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Model {
  graph: Graph;
  opset: number;
  irVersion: number;
  producer: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function rawBytes(d: TensorData): Uint8Array {
  // Little-endian platforms only (x86/ARM); ONNX raw_data is little-endian.
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export function encodeTensor(t: Tensor): Uint8Array {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, rawBytes(t.data));
  return w.finish();
}

function encodeAttr(name: string, a: AttrValue): Uint8Array {
  const w = new Writer();
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.v);
      w.int(20, 1);
      break;
    case 'int':
      w.int(3, a.v);
      w.int(20, 2);
      break;
    case 'string':
      w.string(4, a.v);
      w.int(20, 3);
      break;
    case 'tensor':
      w.bytes(5, encodeTensor(a.v));
      w.int(20, 4);
      break;
    case 'ints':
      for (const x of a.v) w.int(8, x);
      w.int(20, 7);
      break;
  }
  return w.finish();
}

function encodeNode(n: Node, i: number): Uint8Array {
  const w = new Writer();
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  w.string(3, n.name ?? `${n.op}_${i}`);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.bytes(5, encodeAttr(k, v));
  return w.finish();
}

function encodeValueInfo(v: ValueInfo): Uint8Array {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new Writer();
  tensorType.int(1, v.elemType);
  tensorType.bytes(2, shape.finish());
  const type = new Writer();
  type.bytes(1, tensorType.finish());
  const w = new Writer();
  w.string(1, v.name);
  w.bytes(2, type.finish());
  return w.finish();
}

export function encodeModel(m: Model): Uint8Array {
  const g = new Writer();
  m.graph.nodes.forEach((n, i) => g.bytes(1, encodeNode(n, i)));
  g.string(2, m.graph.name);
  for (const t of m.graph.initializers) g.bytes(5, encodeTensor(t));
  for (const v of m.graph.inputs) g.bytes(11, encodeValueInfo(v));
  for (const v of m.graph.outputs) g.bytes(12, encodeValueInfo(v));
  const w = new Writer();
  w.int(1, m.irVersion);
  w.string(2, m.producer);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.bytes(7, g.finish());
  const opset = new Writer();
  opset.string(1, '');
  opset.int(2, m.opset);
  w.bytes(8, opset.finish());
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    const p = new Writer();
    p.string(1, k);
    p.string(2, v);
    w.bytes(14, p.finish());
  }
  return w.finish();
}
