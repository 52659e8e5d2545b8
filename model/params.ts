/**
 * The hybrid model's parameters, in float and in quantized (int8, one scale per row) form.
 * Both the ONNX exporter (model/graph.ts) and the TypeScript reference forward pass
 * (model/reference.ts) read exactly these arrays.
 */
import { CONTEXT_DIM } from './contract';

export interface FloatParams {
  /** items N */
  n: number;
  /** attribute vocabulary size A (the dummy padding attribute has index A) */
  a: number;
  /** neighbours per item K */
  k: number;
  /** [N*K] neighbour item indices (self-padding has weight 0) */
  nbrIdx: Int32Array;
  /** [N*K] neighbour weights */
  nbrW: Float32Array;
  /** attributes per item T (padded with index A) */
  t: number;
  /** [N*T] attribute indices of each item, padded with A */
  itemAttrs: Int32Array;
  /** [A+1] attribute weight (IDF), 0 for the dummy */
  attrW: Float32Array;
  /** [N] content blend / item vector norm */
  itemNorm: Float32Array;
  /** [CONTEXT_DIM*N] context prior (row 0 = bias: popularity) */
  ctxPop: Float32Array;
}

export interface QuantParams extends FloatParams {
  nbrQ: Int8Array;
  /** [N] one scale per neighbour row */
  nbrScale: Float32Array;
  ctxQ: Int8Array;
  /** [CONTEXT_DIM] one scale per context row */
  ctxScale: Float32Array;
}

/** Symmetric int8 quantization with one scale per row: w ≈ q * scale, q in [-127, 127]. */
export function quantizeRows(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[r * cols + c]!));
    const s = max > 0 ? max / 127 : 1;
    scale[r] = s;
    const sf = scale[r]!;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(w[r * cols + c]! / sf)));
  }
  return { q, scale };
}

export function dequantizeRows(q: Int8Array, scale: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(q[r * cols + c]! * scale[r]!);
  return out;
}

export function quantize(p: FloatParams): QuantParams {
  const nb = quantizeRows(p.nbrW, p.n, p.k);
  const cx = quantizeRows(p.ctxPop, CONTEXT_DIM, p.n);
  return { ...p, nbrQ: nb.q, nbrScale: nb.scale, ctxQ: cx.q, ctxScale: cx.scale };
}

/** The float parameters the quantized graph effectively computes with (DequantizeLinear folded). */
export function dequantized(p: QuantParams): FloatParams {
  return {
    ...p,
    nbrW: dequantizeRows(p.nbrQ, p.nbrScale, p.n, p.k),
    ctxPop: dequantizeRows(p.ctxQ, p.ctxScale, CONTEXT_DIM, p.n),
  };
}
