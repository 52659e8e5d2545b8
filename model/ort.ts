/** onnxruntime-web (WASM, one thread) in Node, with the worker's session options. */
import * as ort from 'onnxruntime-web';
import { F, INPUTS, OUTPUTS } from './contract';

let configured = false;

export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  if (!configured) {
    configured = true;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.logLevel = 'error';
  }
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

/** Rank `rows` candidates (features rows × F): the top `k` rows, best first. */
export async function runRank(session: ort.InferenceSession, features: Float32Array, rows: number, k: number): Promise<{ indices: number[]; scores: number[] }> {
  if (rows === 0) return { indices: [], scores: [] };
  const out = await session.run({
    [INPUTS.features]: new ort.Tensor('float32', features, [rows, F]),
    [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.min(k, rows))), [1]),
  });
  const idx = out[OUTPUTS.topIndices]!.data as BigInt64Array;
  const sc = out[OUTPUTS.topScores]!.data as Float32Array;
  return { indices: Array.from(idx, Number), scores: Array.from(sc) };
}

export { ort };
