/** onnxruntime-web (WASM, one thread) in Node, with the worker's session options. */
import * as ort from 'onnxruntime-web';
import { INPUTS, OUTPUTS } from './contract';

let configured = false;

export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  if (!configured) {
    configured = true;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
  }
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    // Same as the worker: fold int8 DequantizeLinear over initializers once at load.
    extra: { session: { disable_quant_qdq: '1' } },
  });
}

export interface OrtRequest {
  histItems: ArrayLike<number>;
  histWeights: ArrayLike<number>;
  userAttrs: Float32Array;
  context: Float32Array;
  itemMask: Float32Array;
  k: number;
}

export async function runTopK(session: ort.InferenceSession, r: OrtRequest): Promise<{ indices: number[]; scores: number[] }> {
  const h = Math.max(1, r.histItems.length);
  const hi = new BigInt64Array(h);
  const hw = new Float32Array(h);
  for (let j = 0; j < r.histItems.length; j++) {
    hi[j] = BigInt(r.histItems[j]!);
    hw[j] = r.histWeights[j]!;
  }
  const out = await session.run({
    [INPUTS.histItems]: new ort.Tensor('int64', hi, [h]),
    [INPUTS.histWeights]: new ort.Tensor('float32', hw, [h]),
    [INPUTS.userAttrs]: new ort.Tensor('float32', r.userAttrs, [r.userAttrs.length]),
    [INPUTS.context]: new ort.Tensor('float32', r.context, [r.context.length]),
    [INPUTS.itemMask]: new ort.Tensor('float32', r.itemMask, [r.itemMask.length]),
    [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(r.k)), [1]),
  });
  const idx = out[OUTPUTS.topIndices]!.data as BigInt64Array;
  const sc = out[OUTPUTS.topScores]!.data as Float32Array;
  return { indices: Array.from(idx, Number), scores: Array.from(sc) };
}

export { ort };
