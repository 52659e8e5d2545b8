/**
 * The exported model follows docs/model-contract.md: names, element types and shapes,
 * checked on a graph produced by model/ and loaded by the worker's own ORT loader in workerd.
 */
import { describe, expect, it } from 'vitest';
import { INPUTS, OUTPUTS, SPEC } from '../../model/contract';
import { createSession, ort } from '../../worker/inference/ort';
import { demoModel } from './model-helpers';

const { onnx, manifest } = demoModel();
const N = manifest.dims.items as number;
const A = manifest.dims.attributes as number;
const dims = (d: string | number, H: number, k: number) => (d === 'N' ? N : d === 'A' ? A : d === 'H' ? H : d === 'k' ? k : (d as number));

describe('model contract', () => {
  it('declares exactly the contract inputs and outputs with their element types', async () => {
    const session = await createSession(onnx);
    expect([...session.inputNames].sort()).toEqual(Object.values(INPUTS).sort());
    expect([...session.outputNames].sort()).toEqual(Object.values(OUTPUTS).sort());
    for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
      expect(meta.isTensor).toBe(true);
      if (!meta.isTensor) continue;
      const spec = SPEC[meta.name as keyof typeof SPEC];
      expect(meta.type, meta.name).toBe(spec.type);
      expect(meta.shape, meta.name).toHaveLength(1);
      // Fixed dimensions must be the manifest's; the rest are symbolic.
      if (typeof meta.shape[0] === 'number' && meta.shape[0] > 0) expect(meta.shape[0], meta.name).toBe(dims(spec.dim, meta.shape[0], meta.shape[0]));
    }
    expect(manifest.items).toHaveLength(N);
    expect(manifest.attributes).toHaveLength(A);
    expect(manifest.files.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs with contract-shaped inputs and returns k ranked, unmasked indices', async () => {
    const session = await createSession(onnx);
    const H = 3;
    const k = 7;
    const mask = new Float32Array(N).fill(1);
    mask[0] = 0;
    mask[1] = 0;
    const context = new Float32Array(8);
    context[0] = 1;
    context[2] = 1;
    context[6] = 1;
    const out = await session.run({
      [INPUTS.histItems]: new ort.Tensor('int64', BigInt64Array.from([2n, 3n, 4n]), [H]),
      [INPUTS.histWeights]: new ort.Tensor('float32', Float32Array.from([1, 0.5, 0.25]), [H]),
      [INPUTS.userAttrs]: new ort.Tensor('float32', new Float32Array(A), [A]),
      [INPUTS.context]: new ort.Tensor('float32', context, [8]),
      [INPUTS.itemMask]: new ort.Tensor('float32', mask, [N]),
      [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
    });
    const scores = out[OUTPUTS.topScores]!;
    const idx = out[OUTPUTS.topIndices]!;
    expect(scores.type).toBe('float32');
    expect(idx.type).toBe('int64');
    expect(scores.dims).toEqual([k]);
    expect(idx.dims).toEqual([k]);
    const s = Array.from(scores.data as Float32Array);
    expect(s).toEqual([...s].sort((a, b) => b - a));
    const ids = Array.from(idx.data as BigInt64Array, Number);
    expect(ids).not.toContain(0);
    expect(ids).not.toContain(1);
    expect(ids.every((i) => i >= 0 && i < N)).toBe(true);
  });
});
