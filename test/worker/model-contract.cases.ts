/**
 * The exported model follows docs/model-contract.md (contract v2): the rank graph's names,
 * element types and shapes, and the neighbour shards read back through the worker's reader,
 * checked on a model produced by model/ and loaded by the worker's own ORT loader in workerd.
 */
import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, F, FEATURES, INPUTS, OUTPUTS, SPEC, shardFile } from '../../model/contract';
import { ShardReader, shardOf } from '../../model/format/shards';
import { createSession, ort } from '../../worker/inference/ort';
import { demoModel } from './model-helpers';

const { onnx, manifest, files, catalog } = demoModel();

describe('model contract', () => {
  it('declares exactly the contract inputs and outputs with their element types and the feature width', async () => {
    expect(manifest.contract).toBe(CONTRACT_VERSION);
    expect(manifest.features).toEqual(FEATURES);
    const session = await createSession(onnx);
    expect([...session.inputNames].sort()).toEqual(Object.values(INPUTS).sort());
    expect([...session.outputNames].sort()).toEqual(Object.values(OUTPUTS).sort());
    for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
      expect(meta.isTensor).toBe(true);
      if (!meta.isTensor) continue;
      const spec = SPEC[meta.name as keyof typeof SPEC];
      expect(meta.type, meta.name).toBe(spec.type);
      expect(meta.shape, meta.name).toHaveLength(spec.dims.length);
      spec.dims.forEach((d, i) => typeof d === 'number' && expect(meta.shape[i], meta.name).toBe(d));
    }
  });

  it('ranks C candidate rows: k rows, scores descending, the learned weights applied to the features', async () => {
    const session = await createSession(onnx);
    const C = 6;
    const k = 4;
    const feats = new Float32Array(C * F);
    for (let i = 0; i < feats.length; i++) feats[i] = ((i * 37) % 11) / 11;
    const out = await session.run({
      [INPUTS.features]: new ort.Tensor('float32', feats, [C, F]),
      [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
    });
    const scores = Array.from(out[OUTPUTS.topScores]!.data as Float32Array);
    const rows = Array.from(out[OUTPUTS.topIndices]!.data as BigInt64Array, Number);
    expect(rows).toHaveLength(k);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    // The graph is the manifest's weights · features.
    const w = FEATURES.map((f) => manifest.weights[f] as number);
    rows.forEach((r, j) => {
      const want = w.reduce((s, x, f) => s + x * feats[r * F + f]!, 0);
      expect(scores[j]).toBeCloseTo(want, 3);
    });
  });

  it('every catalog item the model knows is found in the shard its id hashes to, with weighted neighbours', () => {
    const shards: ShardReader[] = manifest.files.shards.map((_: unknown, i: number) => {
      const b = files[shardFile(i)]!;
      return new ShardReader(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    });
    expect(shards.reduce((s, r) => s + r.count, 0)).toBe(manifest.dims.items);
    let withNeighbours = 0;
    for (const it of catalog) {
      const e = shards[shardOf(it.item_id, shards.length)]!.get(it.item_id);
      expect(e?.id, it.item_id).toBe(it.item_id);
      if (e!.collaborative.length) withNeighbours++;
      for (const n of e!.collaborative) expect(n.w).toBeGreaterThan(0);
    }
    expect(withNeighbours).toBeGreaterThan(catalog.length / 2);
  });
});
