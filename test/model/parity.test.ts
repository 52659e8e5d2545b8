/**
 * Parity: the exported ONNX graphs run through onnxruntime-web (session.disable_quant_qdq = 1,
 * as in the worker) against the TypeScript reference forward pass.
 * Tolerance: |ort - ref| <= 1e-4 + 1e-4 * |ref| per returned score; same top-10 for >= 99% of users.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, type Dataset } from '../../model/dataset';
import { generateDemo } from '../../model/demo-data';
import { buildModel } from '../../model/graph';
import { createSession, runTopK } from '../../model/ort';
import { dequantized, quantize, type FloatParams } from '../../model/params';
import { scoreAll, topK } from '../../model/reference';
import { DEFAULT_CONFIG, fit, historyOf, rng } from '../../model/train';
import { CONTEXT_DIM } from '../../model/contract';

const TOL_ABS = 1e-4;
const TOL_REL = 1e-4;

async function parity(ds: Dataset, params: FloatParams, users: number, seed: number, k = 10) {
  const q = quantize(params);
  const r = rng(seed);
  const out = { same: 0, total: 0, maxErr: 0 };
  for (const [graph, ref] of [[params, params], [q, dequantized(q)]] as const) {
    const s = await createSession(buildModel(graph));
    const n = params.n;
    for (let x = 0; x < users; x++) {
      const u = Math.floor(r() * ds.seqs.length);
      const h = historyOf(ds.seqs[u]!, ds.strengths[u], 0.7);
      const ua = new Float32Array(params.a);
      if (x % 3 === 0) for (let j = 0; j < Math.min(3, params.a); j++) ua[Math.floor(r() * params.a)] = r();
      const ctx = new Float32Array(CONTEXT_DIM);
      ctx[0] = 1;
      ctx[1 + (x % 4)] = 1;
      const mask = new Float32Array(n).fill(1);
      for (const i of h.items) mask[i] = 0;
      const kk = Math.min(k, n);
      const o = await runTopK(s, { histItems: h.items, histWeights: h.weights, userAttrs: ua, context: ctx, itemMask: mask, k: kk });
      const sc = scoreAll(ref, { histItems: h.items, histWeights: h.weights, userAttrs: ua, context: ctx });
      const want = topK(sc, kk, h.items);
      out.total++;
      if (want.join() === o.indices.join()) out.same++;
      o.indices.forEach((i, j) => {
        const refScore = mask[i] ? sc[i]! : -1e9;
        const err = Math.abs(o.scores[j]! - refScore) / (TOL_ABS + TOL_REL * Math.abs(refScore));
        out.maxErr = Math.max(out.maxErr, err);
      });
    }
    await s.release();
  }
  return out;
}

describe('ONNX graph vs TypeScript reference', () => {
  let ds: Dataset;
  beforeAll(() => {
    const d = generateDemo({ items: 800, users: 600, seed: 3 });
    ds = buildDataset(d.events, d.items);
  });

  it('same top-10 for >= 99% of users and scores within tolerance (float and int8 graphs)', async () => {
    const { params } = fit(ds, { seqs: ds.seqs, strengths: ds.strengths }, { ...DEFAULT_CONFIG, contentWeight: 0.05, popWeight: 0.01 });
    params.ctxPop.fill(0.002, 2 * params.n, 3 * params.n); // exercise a context row
    const p = await parity(ds, params, 150, 11);
    expect(p.same / p.total).toBeGreaterThanOrEqual(0.99);
    expect(p.maxErr).toBeLessThanOrEqual(1);
  });

  it('handles a tiny catalog (50 items, more neighbours than items, k = N)', async () => {
    const d = generateDemo({ items: 50, users: 40, seed: 5 });
    const tiny = buildDataset(d.events, d.items);
    const { params } = fit(tiny, { seqs: tiny.seqs, strengths: tiny.strengths }, { ...DEFAULT_CONFIG, neighbours: 64 });
    expect(params.k).toBe(64);
    const p = await parity(tiny, params, 30, 2, 50);
    expect(p.same / p.total).toBeGreaterThanOrEqual(0.99);
    expect(p.maxErr).toBeLessThanOrEqual(1);
  });

  it('matches the reference on a 50,000-item catalog (content part over N*T = 300k attribute slots)', async () => {
    const n = 50000, a = 190, t = 6, k = 4;
    const r = rng(21);
    const itemAttrs = Int32Array.from({ length: n * t }, (_, x) => (x % t === t - 1 && r() < 0.3 ? a : Math.floor(r() * a)));
    const attrW = Float32Array.from({ length: a + 1 }, (_, j) => (j === a ? 0 : 0.5 + r() * 3));
    const params: FloatParams = {
      n, a, k, t, itemAttrs, attrW,
      nbrIdx: Int32Array.from({ length: n * k }, () => Math.floor(r() * n)),
      nbrW: Float32Array.from({ length: n * k }, () => r()),
      itemNorm: Float32Array.from({ length: n }, () => 0.05 + 0.1 * r()),
      ctxPop: Float32Array.from({ length: CONTEXT_DIM * n }, (_, x) => (x < n ? 0.03 * r() : 0)),
    };
    for (const [graph, ref] of [[params, params], [quantize(params), dequantized(quantize(params))]] as const) {
      const s = await createSession(buildModel(graph));
      for (let u = 0; u < 5; u++) {
        const items = Array.from({ length: 8 }, () => Math.floor(r() * n));
        const weights = items.map((_, j) => 0.7 ** j);
        const ua = new Float32Array(a);
        ua[Math.floor(r() * a)] = 0.5;
        const ctx = new Float32Array(CONTEXT_DIM);
        ctx[0] = 1;
        const mask = new Float32Array(n).fill(1);
        for (const i of items) mask[i] = 0;
        const o = await runTopK(s, { histItems: items, histWeights: weights, userAttrs: ua, context: ctx, itemMask: mask, k: 10 });
        const sc = scoreAll(ref, { histItems: items, histWeights: weights, userAttrs: ua, context: ctx });
        expect(o.indices).toEqual(topK(sc, 10, items));
        o.indices.forEach((i, j) => expect(Math.abs(o.scores[j]! - sc[i]!)).toBeLessThanOrEqual(TOL_ABS + TOL_REL * Math.abs(sc[i]!)));
      }
      await s.release();
    }
  });

  it('TopK breaks ties by the lower index, also for large catalogs', async () => {
    for (const n of [7, 5000, 60000]) {
      const params: FloatParams = {
        n, a: 1, k: 1, t: 1,
        nbrIdx: new Int32Array(n), nbrW: new Float32Array(n), itemAttrs: new Int32Array(n).fill(1), attrW: new Float32Array(2),
        itemNorm: new Float32Array(n), ctxPop: new Float32Array(CONTEXT_DIM * n),
      };
      for (let i = 0; i < n; i++) params.ctxPop[i] = i % 3 === 0 ? 0.5 : 0.25; // many exact ties
      const s = await createSession(buildModel(quantize(params)));
      const mask = new Float32Array(n).fill(1);
      mask[0] = 0;
      const ctx = new Float32Array(CONTEXT_DIM);
      ctx[0] = 1;
      const o = await runTopK(s, { histItems: [0], histWeights: [0], userAttrs: new Float32Array(1), context: ctx, itemMask: mask, k: Math.min(n, 10) });
      const want = [3, 6, 9, 12, 15, 18, 21, 24, 27, 30].filter((i) => i < n);
      if (n === 7) want.push(1, 2, 4, 5, 0); // then the 0.25 ties by index, then the masked item
      expect(o.indices).toEqual(want.slice(0, Math.min(n, 10)));
      await s.release();
    }
  });
});
