/**
 * The rank graph (contract v2): scores = features · w, then TopK over the candidates.
 *
 *   features float32 [C, F] ─ MatMul(w [F, 1]) ─ Reshape [C] ─ TopK(k) → top_scores, top_indices
 *
 * Its size does not depend on the catalog: the catalog-sized parts of the model are the
 * neighbour shards (int8 weights), read per request by the retrieval stage.
 */
import { INPUTS, OUTPUTS } from '../contract';
import { DT, encodeModel, type AttrValue, type Node, type Tensor } from '../onnx/proto';

export const OPSET = 17;
export const IR_VERSION = 8;

const i = (v: number): AttrValue => ({ kind: 'int', v });

/** `weights` has one entry per feature (F); the graph's feature width is its length. */
export function buildRankModel(weights: Float32Array, meta: Record<string, string> = {}): Uint8Array {
  const F = weights.length;
  const nodes: Node[] = [];
  const inits: Tensor[] = [
    { name: 'w', dataType: DT.FLOAT, dims: [F, 1], data: Float32Array.from(weights) },
    { name: 'flat', dataType: DT.INT64, dims: [1], data: BigInt64Array.of(-1n) },
  ];
  const node = (op: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>) => nodes.push({ op, inputs, outputs, attrs, name: outputs[0] });
  node('MatMul', [INPUTS.features, 'w'], ['s_col']);
  node('Reshape', ['s_col', 'flat'], ['scores']);
  node('TopK', ['scores', INPUTS.k], [OUTPUTS.topScores, OUTPUTS.topIndices], { axis: i(0), largest: i(1), sorted: i(1) });
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producer: 'edge-p13n-model',
    producerVersion: '2',
    docString: 'Rank stage of the retrieve-then-rank recommender: learned linear scoring of candidate features (docs/model.md)',
    metadata: meta,
    graph: {
      name: 'p13n_rank',
      nodes,
      initializers: inits,
      inputs: [
        { name: INPUTS.features, elemType: DT.FLOAT, shape: ['C', F] },
        { name: INPUTS.k, elemType: DT.INT64, shape: [1] },
      ],
      outputs: [
        { name: OUTPUTS.topScores, elemType: DT.FLOAT, shape: ['K'] },
        { name: OUTPUTS.topIndices, elemType: DT.INT64, shape: ['K'] },
      ],
    },
  });
}
