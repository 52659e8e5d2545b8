/**
 * The shared evaluation protocol (../shared/README.md; docs/model.md "Evaluation"):
 * leave-last-out by time, full ranking over the catalog, history masked, ties by lower index,
 * HR/NDCG/MRR@10 averaged over users. The model is scored as the exported int8 ONNX graph
 * through onnxruntime-web; Pop and ItemKNN (cosine, shrink 10) are computed here.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportModel, type Exported, writeArtifact } from './artifact';
import { CONTEXT_DIM, type ModelManifest } from './contract';
import type { Dataset } from './dataset';
import { ItemKnn, popScores } from './baselines';
import { MetricAcc, type Metrics, topKDense } from './metrics';
import { createSession, runTopK, type ort } from './ort';
import { bar } from './progress';
import { cooccurrence } from './similarity';
import { DEFAULT_CONFIG, fit, historyOf, type TrainConfig, tune, type TuneResult } from './train';

export interface EvalOptions {
  seed?: number;
  /** skip tuning, use DEFAULT_CONFIG overridden by `config` */
  noTune?: boolean;
  config?: Partial<TrainConfig>;
  /** users sampled for tuning */
  tuneSample?: number;
  /** evaluate an existing artifact (model.onnx + manifest.json) instead of training */
  model?: { bytes: Uint8Array; manifest: ModelManifest };
  predictions?: string;
  /** also score the float graph (default true when training) */
  float?: boolean;
  /** also compute baselines on the validation split */
  validationBaselines?: boolean;
  /** keep the trained artifact here */
  outDir?: string;
  /** fraction of users / items forming the cold slices */
  coldFraction?: number;
  log?: (line: string) => void;
}

export interface SliceMetrics {
  all: Metrics;
  cold_users: Metrics;
  cold_items: Metrics;
}

export interface EvalReport {
  data: Dataset['summary'];
  split: { test_users: number; validation_users: number; cold_user_max_history: number; cold_item_max_count: number };
  validation: Record<string, Metrics>;
  test: Record<string, SliceMetrics>;
  quantized_vs_float_ndcg_rel_diff?: number;
  sizes?: { model_bytes: number; float_bytes: number };
  ms_per_run?: { quantized: number; float?: number };
  config?: TrainConfig;
  tuning?: TuneResult['tried'];
  timings_s: Record<string, number>;
  manifest?: ModelManifest;
}

class Sliced {
  all = new MetricAcc();
  coldU = new MetricAcc();
  coldI = new MetricAcc();
  add(rank: number, coldUser: boolean, coldItem: boolean): void {
    this.all.add(rank);
    if (coldUser) this.coldU.add(rank);
    if (coldItem) this.coldI.add(rank);
  }
  get(): SliceMetrics {
    return { all: this.all.get(), cold_users: this.coldU.get(), cold_items: this.coldI.get() };
  }
}

function quantile(values: number[], q: number): number {
  if (!values.length) return 0;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export async function evaluate(ds: Dataset, opts: EvalOptions = {}): Promise<EvalReport> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const seed = opts.seed ?? 42;
  const n = ds.items.length;
  const timings: Record<string, number> = {};
  let t0 = Date.now();
  const lap = (name: string) => {
    timings[name] = (Date.now() - t0) / 1000;
    t0 = Date.now();
  };
  const report: EvalReport = {
    data: ds.summary,
    split: { test_users: 0, validation_users: 0, cold_user_max_history: 0, cold_item_max_count: 0 },
    validation: {},
    test: {},
    timings_s: timings,
  };

  // ---- validation: tune the model (and optionally score baselines) on train = all but last two
  let config: TrainConfig = { ...DEFAULT_CONFIG, ...opts.config };
  if (!opts.model) {
    if (!opts.noTune) {
      const b = bar('tuning (validation)', 1);
      const tr = tune(ds, seed, config, { sample: opts.tuneSample, progress: (d, t) => b.update(d, t) });
      b.stop();
      config = tr.config;
      report.validation.model_sample = tr.validation;
      report.tuning = tr.tried;
      log(`validation (sample of ${tr.validation.users} users): model HR@10 ${tr.validation.hr.toFixed(4)} NDCG@10 ${tr.validation.ndcg.toFixed(4)}; chosen ${JSON.stringify({ seqWeight: config.seqWeight, historyDecay: config.historyDecay, contentWeight: config.contentWeight, popWeight: config.popWeight, idf: config.idf })}`);
    }
    report.config = config;
    lap('tune');
  }
  if (opts.validationBaselines) {
    Object.assign(report.validation, evaluateBaselines(ds, 2));
    lap('validation_baselines');
  }

  // ---- test: refit on all but the last interaction
  const train = ds.seqs.map((s) => s.subarray(0, Math.max(0, s.length - 1)));
  const strengths = ds.strengths.map((s) => s.subarray(0, Math.max(0, s.length - 1)));
  const cb = bar('co-occurrence (test fit)', n);
  const cooc = cooccurrence(n, train, { window: config.window, seqDecay: config.seqDecay, progress: (d) => cb.update(d) });
  cb.stop();
  lap('cooccurrence');

  let manifest: ModelManifest;
  let exported: Exported | undefined;
  let modelIndexOf: (i: number) => number = (i) => i;
  let nm = n;
  if (opts.model) {
    manifest = opts.model.manifest;
    nm = manifest.dims.items;
    const idx = new Map(manifest.items.map((id, i) => [id, i]));
    modelIndexOf = (i) => idx.get(ds.itemIds[i]!) ?? -1;
  } else {
    // neighbour lists from the trainer's own (streaming) path, so that maxPairDistance applies as in model:train
    const fb = bar('fit (test refit)', n);
    const fitted = fit(ds, { seqs: train, strengths }, config, undefined, (d) => fb.update(d));
    fb.stop();
    exported = exportModel(ds, fitted.params, config, { seed, trained_on: 'all interactions but each user\'s last (evaluation refit)' });
    manifest = exported.manifest;
    lap('fit_export');
    report.sizes = { model_bytes: exported.quantBytes.length, float_bytes: exported.floatBytes.length };
    if (opts.outDir) writeArtifact(opts.outDir, exported);
  }
  const tmp = exported && !opts.outDir ? mkdtempSync(join(tmpdir(), 'p13n-eval-')) : undefined;
  if (tmp && exported) writeArtifact(tmp, exported); // the graph is scored from the written file, as the worker would

  // slices
  const histLens: number[] = [];
  ds.seqs.forEach((s) => s.length >= 2 && histLens.push(s.length - 1));
  const coldFrac = opts.coldFraction ?? 0.2;
  const coldUserMax = quantile(histLens, coldFrac);
  const seenCounts = Array.from(cooc.count).filter((x) => x > 0);
  const coldItemMax = quantile(seenCounts, coldFrac);
  report.split.cold_user_max_history = coldUserMax;
  report.split.cold_item_max_count = coldItemMax;

  const sessions: { name: string; s: ort.InferenceSession; acc: Sliced; ms: number }[] = [];
  const qBytes = exported ? exported.quantBytes : opts.model!.bytes;
  sessions.push({ name: 'model', s: await createSession(qBytes), acc: new Sliced(), ms: 0 });
  if (exported && opts.float !== false) sessions.push({ name: 'model_float', s: await createSession(exported.floatBytes), acc: new Sliced(), ms: 0 });
  const pop = popScores(cooc);
  const knn = new ItemKnn(cooc, 10);
  const accPop = new Sliced();
  const accKnn = new Sliced();
  const buf = new Float32Array(n);
  const ex = new Int32Array(n).fill(-1);
  const mask = new Float32Array(nm).fill(1);
  const ctx = new Float32Array(CONTEXT_DIM);
  ctx[0] = 1;
  const userAttrs = new Float32Array(manifest.dims.attributes);
  const decay = (manifest.training as { config?: TrainConfig }).config?.historyDecay ?? config.historyDecay;
  const pred = opts.predictions ? createWriteStream(opts.predictions) : undefined;
  const b = bar('scoring test (ORT)', ds.seqs.length);
  const benchReqs: { items: number[]; weights: number[] }[] = [];
  let users = 0;
  for (let u = 0; u < ds.seqs.length; u++) {
    const s = ds.seqs[u]!;
    if (s.length < 2) continue;
    users++;
    const hist = train[u]!;
    const target = s[s.length - 1]!;
    const coldUser = hist.length <= coldUserMax;
    const coldItem = cooc.count[target]! <= coldItemMax;
    for (const h of hist) ex[h] = u;
    accPop.add(topKDense(pop, 10, ex, u).indexOf(target), coldUser, coldItem);
    accKnn.add(topKDense(knn.scores(hist, buf), 10, ex, u).indexOf(target), coldUser, coldItem);
    const h = historyOf(hist, strengths[u], decay);
    const mi = h.items.map(modelIndexOf);
    const keep = mi.map((x) => x >= 0);
    const items = mi.filter((_, j) => keep[j]);
    const weights = h.weights.filter((_, j) => keep[j]);
    // the graph sees the most recent items (historyOf), but the whole training history is masked
    for (let j = 0; j < hist.length; j++) {
      const x = modelIndexOf(hist[j]!);
      if (x >= 0) mask[x] = 0;
    }
    const mt = modelIndexOf(target);
    for (const se of sessions) {
      const t1 = performance.now();
      const r = await runTopK(se.s, { histItems: items.length ? items : [0], histWeights: items.length ? weights : [0], userAttrs, context: ctx, itemMask: mask, k: Math.min(10, nm) });
      se.ms += performance.now() - t1;
      se.acc.add(mt < 0 ? -1 : r.indices.indexOf(mt), coldUser, coldItem);
      if (pred && se.name === 'model') pred.write(JSON.stringify({ user_id: ds.users[u], items: r.indices.map((i) => manifest.items[i]) }) + '\n');
    }
    for (let j = 0; j < hist.length; j++) {
      const x = modelIndexOf(hist[j]!);
      if (x >= 0) mask[x] = 1;
    }
    if (benchReqs.length < 300) benchReqs.push({ items: items.length ? items : [0], weights: items.length ? weights : [0] });
    if ((u & 255) === 0) b.update(u);
  }
  b.update(ds.seqs.length);
  b.stop();
  // latency: same requests on each graph, warmed up, best of 3 interleaved rounds
  const best = sessions.map(() => Infinity);
  for (let round = 0; round < 4; round++)
    for (let si = 0; si < sessions.length; si++) {
      const t1 = performance.now();
      for (const q of benchReqs) {
        for (const x of q.items) mask[x] = 0;
        await runTopK(sessions[si]!.s, { histItems: q.items, histWeights: q.weights, userAttrs, context: ctx, itemMask: mask, k: Math.min(10, nm) });
        for (const x of q.items) mask[x] = 1;
      }
      if (round > 0) best[si] = Math.min(best[si]!, (performance.now() - t1) / Math.max(1, benchReqs.length));
    }
  if (pred) await new Promise<void>((res, rej) => pred.end((e?: Error | null) => (e ? rej(e) : res())));
  for (const se of sessions) await se.s.release();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  lap('test_scoring');
  report.split.test_users = users;
  report.split.validation_users = ds.seqs.filter((s) => s.length >= 3).length;
  for (const se of sessions) report.test[se.name] = se.acc.get();
  report.test.pop = accPop.get();
  report.test.itemknn = accKnn.get();
  report.ms_per_run = { quantized: best[0]!, float: best[1] };
  if (report.test.model_float) {
    const f = report.test.model_float.all.ndcg;
    report.quantized_vs_float_ndcg_rel_diff = f > 0 ? (report.test.model!.all.ndcg - f) / f : 0;
  }
  report.manifest = manifest;
  return report;
}

/**
 * Pop and ItemKNN (cosine, shrink 10) on one step of the protocol: drop = 1 for test (train on all
 * but the last interaction, target the last), drop = 2 for validation.
 */
export function evaluateBaselines(ds: Dataset, drop: 1 | 2): { pop: Metrics; itemknn: Metrics } {
  const n = ds.items.length;
  const tr = ds.seqs.map((s) => s.subarray(0, Math.max(0, s.length - drop)));
  const c = cooccurrence(n, tr, { window: 1, seqDecay: 1 });
  const knn = new ItemKnn(c, 10);
  const pop = popScores(c);
  const accP = new MetricAcc();
  const accK = new MetricAcc();
  const buf = new Float32Array(n);
  const ex = new Int32Array(n).fill(-1);
  const b = bar(drop === 2 ? 'baselines (validation)' : 'baselines (test)', ds.seqs.length);
  ds.seqs.forEach((s, u) => {
    if (s.length < drop + 1) return;
    const hist = tr[u]!;
    for (const h of hist) ex[h] = u;
    const target = s[s.length - drop]!;
    accP.add(topKDense(pop, 10, ex, u).indexOf(target));
    accK.add(topKDense(knn.scores(hist, buf), 10, ex, u).indexOf(target));
    if ((u & 511) === 0) b.update(u);
  });
  b.update(ds.seqs.length);
  b.stop();
  return { pop: accP.get(), itemknn: accK.get() };
}

export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  const row = (name: string, m: Metrics) => `${name.padEnd(26)} ${m.hr.toFixed(4).padStart(8)} ${m.ndcg.toFixed(4).padStart(9)} ${m.mrr.toFixed(4).padStart(8)} ${String(m.users).padStart(7)}`;
  const head = `${''.padEnd(26)} ${'HR@10'.padStart(8)} ${'NDCG@10'.padStart(9)} ${'MRR@10'.padStart(8)} ${'users'.padStart(7)}`;
  if (Object.keys(r.validation).length) {
    lines.push('VALIDATION (train = all but last two)', head);
    for (const [k, m] of Object.entries(r.validation)) lines.push(row(k, m));
    lines.push('');
  }
  const names: Record<string, string> = { model: 'model (int8, ORT)', model_float: 'model (float, ORT)', pop: 'Pop', itemknn: 'ItemKNN (cos, shrink 10)' };
  lines.push('TEST (train = all but last)', head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.all));
  lines.push('', `COLD USERS (history <= ${r.split.cold_user_max_history} items)`, head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.cold_users));
  lines.push('', `COLD ITEMS (target seen <= ${r.split.cold_item_max_count} times in training)`, head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.cold_items));
  lines.push('');
  if (r.quantized_vs_float_ndcg_rel_diff !== undefined) lines.push(`quantized vs float NDCG@10: ${(100 * r.quantized_vs_float_ndcg_rel_diff).toFixed(2)}% relative`);
  if (r.sizes) lines.push(`sizes: int8 model.onnx ${(r.sizes.model_bytes / 1024).toFixed(1)} KiB, float graph ${(r.sizes.float_bytes / 1024).toFixed(1)} KiB`);
  if (r.ms_per_run) lines.push(`ORT ms/run (300 requests, best of 3 rounds, incl. feed setup): int8 ${r.ms_per_run.quantized.toFixed(3)}${r.ms_per_run.float !== undefined ? `, float ${r.ms_per_run.float.toFixed(3)}` : ''}`);
  lines.push(`timings (s): ${Object.entries(r.timings_s).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  return lines.join('\n');
}
