/**
 * Builds the single scoring graph (docs/model.md, "Graph") under the contract in
 * model/contract.ts, from float or int8-quantized parameters.
 *
 *   cf      = ScatterElements_add(0[N], nbr_idx[hist_items], nbr_w[hist_items] * w)   w = hist_weights / Σ hist_weights
 *   profile = (ScatterElements_add(0[A+1], item_attrs[hist_items], w) + [user_attrs, 0]) * attr_w
 *   content = ReduceSum(Gather(profile * attr_w / ‖profile‖, item_attrs), 1) * item_norm
 *             (the Gather is written as GatherElements over one [1, N*T] index row: same values, much faster in ORT)
 *   prior   = context[1,8] · ctx_pop[8,N]
 *   score   = cf + content + prior + (item_mask - 1) * 1e9 ;  TopK(score, k)
 */
import { CONTEXT_DIM, INPUTS, OUTPUTS } from './contract';
import { DT, encodeModel, type AttrValue, type Node, type Tensor } from './onnx/proto';
import type { FloatParams, QuantParams } from './params';

export const OPSET = 17;
export const IR_VERSION = 8;

const i = (v: number): AttrValue => ({ kind: 'int', v });

/** Smallest integer index type ORT's Cast accepts that holds values up to max. */
function indexTensor(name: string, values: Int32Array, dims: number[], max: number): Tensor {
  if (max <= 65535) return { name, dataType: DT.UINT16, dims, data: Uint16Array.from(values) };
  return { name, dataType: DT.INT32, dims, data: values };
}

function isQuant(p: FloatParams | QuantParams): p is QuantParams {
  return (p as QuantParams).nbrQ !== undefined;
}

export function buildModel(p: FloatParams | QuantParams, meta: Record<string, string> = {}): Uint8Array {
  const { n, a, k, t } = p;
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const node = (op: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>) =>
    nodes.push({ op, inputs, outputs, attrs, name: outputs[0] });
  const constI64 = (name: string, v: number[]) => inits.push({ name, dataType: DT.INT64, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
  const constF = (name: string, v: number[], dims: number[] = [v.length]) => inits.push({ name, dataType: DT.FLOAT, dims, data: Float32Array.from(v) });

  constI64('axes0', [0]);
  constI64('axes1', [1]);
  constI64('flat', [-1]);
  constF('eps', [1e-6], []);
  constF('one', [1], []);
  constF('big', [1e9], []);
  constF('zero1', [0]);

  // --- neighbour (collaborative + sequential) part
  inits.push(indexTensor('nbr_idx_q', p.nbrIdx, [n, k], n - 1));
  node('Cast', ['nbr_idx_q'], ['nbr_idx'], { to: i(DT.INT64) });
  if (isQuant(p)) {
    inits.push({ name: 'nbr_w_q', dataType: DT.INT8, dims: [n, k], data: p.nbrQ });
    inits.push({ name: 'nbr_scale', dataType: DT.FLOAT, dims: [n], data: p.nbrScale });
    node('DequantizeLinear', ['nbr_w_q', 'nbr_scale'], ['nbr_w'], { axis: i(0) });
  } else {
    inits.push({ name: 'nbr_w', dataType: DT.FLOAT, dims: [n, k], data: p.nbrW });
  }
  node('ReduceSum', [INPUTS.histWeights], ['wsum'], { keepdims: i(0) });
  node('Add', ['wsum', 'eps'], ['wsum_e']);
  node('Div', [INPUTS.histWeights, 'wsum_e'], ['wn']);
  node('Unsqueeze', ['wn', 'axes1'], ['wn_col']);
  node('Gather', ['nbr_idx', INPUTS.histItems], ['h_idx'], { axis: i(0) });
  node('Gather', ['nbr_w', INPUTS.histItems], ['h_w'], { axis: i(0) });
  node('Mul', ['h_w', 'wn_col'], ['h_val']);
  node('Reshape', ['h_idx', 'flat'], ['h_idx_f']);
  node('Reshape', ['h_val', 'flat'], ['h_val_f']);
  node('Shape', [INPUTS.itemMask], ['n_shape']);
  node('ConstantOfShape', ['n_shape'], ['zeros_n'], { value: { kind: 'tensor', v: { name: 'v', dataType: DT.FLOAT, dims: [1], data: new Float32Array(1) } } });
  node('ScatterElements', ['zeros_n', 'h_idx_f', 'h_val_f'], ['cf'], { axis: i(0), reduction: { kind: 'string', v: 'add' } });

  // --- content part: attribute profile of the history + long-term user vector
  inits.push(indexTensor('item_attrs_q', p.itemAttrs, [n, t], a));
  node('Cast', ['item_attrs_q'], ['item_attrs'], { to: i(DT.INT64) });
  constI64('a1_shape', [a + 1]);
  node('ConstantOfShape', ['a1_shape'], ['zeros_a'], { value: { kind: 'tensor', v: { name: 'v', dataType: DT.FLOAT, dims: [1], data: new Float32Array(1) } } });
  node('Gather', ['item_attrs', INPUTS.histItems], ['h_attrs'], { axis: i(0) });
  node('Shape', ['h_attrs'], ['h_attrs_shape']);
  node('Expand', ['wn_col', 'h_attrs_shape'], ['h_aw']);
  node('Reshape', ['h_attrs', 'flat'], ['h_attrs_f']);
  node('Reshape', ['h_aw', 'flat'], ['h_aw_f']);
  node('ScatterElements', ['zeros_a', 'h_attrs_f', 'h_aw_f'], ['hist_prof'], { axis: i(0), reduction: { kind: 'string', v: 'add' } });
  node('Concat', [INPUTS.userAttrs, 'zero1'], ['ua_pad'], { axis: i(0) });
  node('Add', ['hist_prof', 'ua_pad'], ['raw_prof']);
  inits.push({ name: 'attr_w', dataType: DT.FLOAT, dims: [a + 1], data: p.attrW });
  node('Mul', ['raw_prof', 'attr_w'], ['u']);
  node('Mul', ['u', 'u'], ['u2']);
  node('ReduceSum', ['u2'], ['u_ss'], { keepdims: i(0) });
  node('Sqrt', ['u_ss'], ['u_norm']);
  node('Add', ['u_norm', 'eps'], ['u_norm_e']);
  node('Mul', ['u', 'attr_w'], ['u_w']);
  node('Div', ['u_w', 'u_norm_e'], ['q']);
  // Per-item sum of q over its T attribute slots. GatherElements along the last axis of q as [1, A+1] with the
  // indices as one [1, N*T] row: the same values as Gather(q, item_attrs), but ORT's GatherElements copies element
  // by element in a tight loop where Gather does one memcpy per index (~5x faster at 50k items; docs/model.md).
  node('Unsqueeze', ['q', 'axes0'], ['q_row']);
  constI64('nt_row', [1, n * t]);
  node('Reshape', ['item_attrs', 'nt_row'], ['item_attrs_row']);
  node('GatherElements', ['q_row', 'item_attrs_row'], ['ia_vals_row'], { axis: i(1) });
  constI64('n_t', [n, t]);
  node('Reshape', ['ia_vals_row', 'n_t'], ['ia_vals']);
  node('ReduceSum', ['ia_vals', 'axes1'], ['c_raw'], { keepdims: i(0) });
  inits.push({ name: 'item_norm', dataType: DT.FLOAT, dims: [n], data: p.itemNorm });
  node('Mul', ['c_raw', 'item_norm'], ['content']);

  // --- context / popularity prior
  if (isQuant(p)) {
    inits.push({ name: 'ctx_q', dataType: DT.INT8, dims: [CONTEXT_DIM, n], data: p.ctxQ });
    inits.push({ name: 'ctx_scale', dataType: DT.FLOAT, dims: [CONTEXT_DIM], data: p.ctxScale });
    node('DequantizeLinear', ['ctx_q', 'ctx_scale'], ['ctx_pop'], { axis: i(0) });
  } else {
    inits.push({ name: 'ctx_pop', dataType: DT.FLOAT, dims: [CONTEXT_DIM, n], data: p.ctxPop });
  }
  node('Unsqueeze', [INPUTS.context, 'axes0'], ['ctx_row']);
  node('MatMul', ['ctx_row', 'ctx_pop'], ['prior_row']);
  node('Reshape', ['prior_row', 'flat'], ['prior']);

  // --- sum, mask, top-k
  node('Add', ['cf', 'content'], ['s1']);
  node('Add', ['s1', 'prior'], ['s2']);
  node('Sub', [INPUTS.itemMask, 'one'], ['m1']);
  node('Mul', ['m1', 'big'], ['m2']);
  node('Add', ['s2', 'm2'], ['masked']);
  node('TopK', ['masked', INPUTS.k], [OUTPUTS.topScores, OUTPUTS.topIndices], { axis: i(0), largest: i(1), sorted: i(1) });

  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producer: 'edge-p13n-model',
    producerVersion: '1',
    docString: 'Hybrid sparse neighbourhood + content + context prior recommender (docs/model.md)',
    metadata: meta,
    graph: {
      name: 'p13n_hybrid',
      nodes,
      initializers: inits,
      inputs: [
        { name: INPUTS.histItems, elemType: DT.INT64, shape: ['H'] },
        { name: INPUTS.histWeights, elemType: DT.FLOAT, shape: ['H'] },
        { name: INPUTS.userAttrs, elemType: DT.FLOAT, shape: [a] },
        { name: INPUTS.context, elemType: DT.FLOAT, shape: [CONTEXT_DIM] },
        { name: INPUTS.itemMask, elemType: DT.FLOAT, shape: [n] },
        { name: INPUTS.k, elemType: DT.INT64, shape: [1] },
      ],
      outputs: [
        { name: OUTPUTS.topScores, elemType: DT.FLOAT, shape: ['K'] },
        { name: OUTPUTS.topIndices, elemType: DT.INT64, shape: ['K'] },
      ],
    },
  });
}
