/**
 * The shared evaluation protocol (../shared/README.md; docs/model.md "Evaluation"):
 * leave-last-out by time, the user's whole history masked, HR/NDCG/MRR@10 averaged over users.
 * The model is scored exactly as the worker serves it: retrieval from the int8 neighbour shards
 * (the same reader and the same candidate code, worker/ranking/two-stage/candidates.ts), then the
 * exported rank graph through onnxruntime-web. Items retrieval does not reach rank below every
 * retrieved one (they are absent from the top 10). Pop and ItemKNN score the full catalog.
 */
import { createWriteStream } from 'node:fs';
import { exportModel, type Exported, type ReadArtifact, writeArtifact } from './artifact';
import type { ModelLists, ModelManifest } from './contract';
import type { Dataset } from './dataset';
import { ItemKnn, popScores } from './baselines';
import { MetricAcc, type Metrics, topKDense } from './metrics';
import { createSession, runRank, type ort } from './ort';
import { bar, phases } from './progress';
import { allSeqs, candidatesFor, dropLast, learnRank, type LearnedRank } from './rank/fit';
import type { NeighbourEntry } from './format/shards';
import { floatLists, retrievalData } from './rank/retrieval-data';
import { InMemoryShards } from './rank/shard-set';
import { cooccurrence } from './similarity';
import { DEFAULT_CONFIG, type TrainConfig, tune, type TuneResult } from './train';

export interface EvalOptions {
  seed?: number;
  /** skip tuning, use DEFAULT_CONFIG overridden by `config` */
  noTune?: boolean;
  config?: Partial<TrainConfig>;
  /** users sampled for tuning */
  tuneSample?: number;
  /** users sampled for learning the rank weights (default: RANK_SAMPLE) */
  rankSample?: number;
  /** evaluate an existing artifact (a model folder) instead of training */
  model?: ReadArtifact;
  predictions?: string;
  /** also score with float (unquantized) neighbour weights (default true when training) */
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
  sizes?: { total_bytes: number; rank_graph_bytes: number; shards: number };
  /** retrieval + features + ORT rank per request, mean over the test users */
  ms_per_request?: number;
  candidates_p50?: number;
  config?: TrainConfig;
  tuning?: TuneResult['tried'];
  rank?: LearnedRank & { weights_by_feature: Record<string, number> };
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
  const phaseBar = phases();

  // ---- validation: tune retrieval, then learn the rank weights (train = all but last two)
  let config: TrainConfig = { ...DEFAULT_CONFIG, ...opts.config };
  let weights: Float32Array | undefined;
  if (!opts.model) {
    if (!opts.noTune) {
      const tr = tune(ds, seed, config, { sample: opts.tuneSample, bar });
      config = { ...config, seqWeight: tr.config.seqWeight, historyDecay: tr.config.historyDecay };
      report.validation.retrieval_sample = tr.validation;
      report.tuning = tr.tried;
      log(`validation (sample of ${tr.validation.users} users): retrieval HR@10 ${tr.validation.hr.toFixed(4)} NDCG@10 ${tr.validation.ndcg.toFixed(4)}; chosen ${JSON.stringify({ seqWeight: config.seqWeight, historyDecay: config.historyDecay })}`);
    }
    lap('tune');
    const lr = learnRank(ds, config, seed, { sample: opts.rankSample, progress: phaseBar });
    phaseBar.done();
    weights = lr.weights;
    report.rank = { ...lr, weights_by_feature: Object.fromEntries([...lr.weights].map((w, f) => [String(f), w])) };
    log(`rank weights learned on ${lr.examples} validation examples (retrieval recall ${lr.recall.toFixed(3)}, p50 ${lr.candidates_p50} candidates)`);
    report.config = config;
    lap('learn_rank');
  }
  if (opts.validationBaselines) {
    Object.assign(report.validation, evaluateBaselines(ds, 2));
    lap('validation_baselines');
  }

  // ---- test: refit retrieval on all but the last interaction
  const train = dropLast(ds, 1);
  const all = allSeqs(ds);
  const cb = bar('co-occurrence (test fit)', n);
  const cooc = cooccurrence(n, train.seqs, { window: config.window, seqDecay: config.seqDecay, maxDistance: config.maxPairDistance, progress: (d) => cb.update(d) });
  cb.stop();
  lap('cooccurrence');

  let manifest: ModelManifest;
  let lists: ModelLists;
  let rankBytes: Uint8Array;
  let shards: InMemoryShards;
  let exported: Exported | undefined;
  if (opts.model) {
    manifest = opts.model.manifest;
    lists = JSON.parse(new TextDecoder().decode(opts.model.lists)) as ModelLists;
    rankBytes = opts.model.rank;
    shards = new InMemoryShards(opts.model.shards);
  } else {
    const rd = retrievalData(ds, train, config, { cooc, progress: phaseBar });
    exported = exportModel({ ds, data: train, config, weights: weights!, training: { seed, trained_on: "all interactions but each user's last (evaluation refit)" }, retrieval: rd, progress: phaseBar });
    phaseBar.done();
    manifest = exported.manifest;
    lists = exported.retrieval.lists;
    rankBytes = exported.rank;
    shards = new InMemoryShards(exported.shards);
    report.rank!.weights_by_feature = manifest.weights;
    report.sizes = { total_bytes: manifest.files.total_bytes, rank_graph_bytes: exported.rank.length, shards: exported.shards.length };
    if (opts.outDir) writeArtifact(opts.outDir, exported);
    lap('fit_export');
  }
  const decay = manifest.retrieval.history_decay;

  // slices
  const histLens: number[] = [];
  ds.seqs.forEach((s) => s.length >= 2 && histLens.push(s.length - 1));
  const coldFrac = opts.coldFraction ?? 0.2;
  const coldUserMax = quantile(histLens, coldFrac);
  const seenCounts: number[] = [];
  for (let i = 0; i < n; i++) if (cooc.count[i]! > 0) seenCounts.push(cooc.count[i]!);
  const coldItemMax = quantile(seenCounts, coldFrac);
  report.split.cold_user_max_history = coldUserMax;
  report.split.cold_item_max_count = coldItemMax;

  const session = await createSession(rankBytes);
  const sources: { name: string; lists: (ids: string[]) => Map<string, NeighbourEntry>; acc: Sliced }[] = [{ name: 'model', lists: (ids) => shards.lists(ids), acc: new Sliced() }];
  if (exported && opts.float !== false) {
    const rd = exported.retrieval;
    sources.push({
      name: 'model_float',
      lists: (ids) => floatLists(rd, ds, ids),
      acc: new Sliced(),
    });
  }
  const pop = popScores(cooc);
  // As the worker tops a short list up with the popular items that pass its filters.
  const popOrder = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => pop[b]! - pop[a]! || a - b);
  const knn = new ItemKnn(cooc, 10);
  const accPop = new Sliced();
  const accKnn = new Sliced();
  const buf = new Float32Array(n);
  const ex = new Int32Array(n).fill(-1);
  const pred = opts.predictions ? createWriteStream(opts.predictions) : undefined;
  const b = bar('scoring test (retrieve + ORT rank)', ds.seqs.length);
  let users = 0;
  let modelMs = 0;
  const candSizes: number[] = [];
  for (let u = 0; u < ds.seqs.length; u++) {
    const s = ds.seqs[u]!;
    if (s.length < 2) continue;
    users++;
    const hist = train.seqs[u]!;
    const target = s[s.length - 1]!;
    const targetId = ds.itemIds[target]!;
    const coldUser = hist.length <= coldUserMax;
    const coldItem = cooc.count[target]! <= coldItemMax;
    // The whole history is masked, however long it is.
    for (let p = 0; p < hist.length; p++) ex[hist[p]!] = u;
    accPop.add(topKDense(pop, 10, ex, u).indexOf(target), coldUser, coldItem);
    accKnn.add(topKDense(knn.scores(hist, buf), 10, ex, u).indexOf(target), coldUser, coldItem);
    for (const src of sources) {
      const t1 = performance.now();
      const c = candidatesFor(ds, all, u, s.length - 1, decay, src.lists, { lists });
      const r = await runRank(session, c.features, c.ids.length, 10);
      const top = fillFromPopular(r.indices.map((i) => c.ids[i]!), popOrder, ex, u, ds);
      if (src.name === 'model') {
        modelMs += performance.now() - t1;
        candSizes.push(c.ids.length);
        if (pred) pred.write(JSON.stringify({ user_id: ds.users[u], items: top }) + '\n');
      }
      src.acc.add(top.indexOf(targetId), coldUser, coldItem);
    }
    if ((u & 255) === 0) b.update(u);
  }
  b.update(ds.seqs.length);
  b.stop();
  if (pred) await new Promise<void>((res, rej) => pred.end((e?: Error | null) => (e ? rej(e) : res())));
  await session.release();
  lap('test_scoring');
  report.split.test_users = users;
  report.split.validation_users = ds.seqs.filter((s) => s.length >= 3).length;
  for (const src of sources) report.test[src.name] = src.acc.get();
  report.test.pop = accPop.get();
  report.test.itemknn = accKnn.get();
  report.ms_per_request = modelMs / Math.max(1, users);
  candSizes.sort((x, y) => x - y);
  report.candidates_p50 = candSizes[Math.floor(candSizes.length / 2)] ?? 0;
  if (report.test.model_float) {
    const f = report.test.model_float.all.ndcg;
    report.quantized_vs_float_ndcg_rel_diff = f > 0 ? (report.test.model!.all.ndcg - f) / f : 0;
  }
  report.manifest = manifest;
  return report;
}

/** Fill a list shorter than 10 with the most popular items outside the user's history (ties by lower index). */
function fillFromPopular(top: string[], order: Int32Array, ex: Int32Array, u: number, ds: Dataset): string[] {
  if (top.length >= 10) return top;
  const have = new Set(top);
  for (let x = 0; x < order.length && top.length < 10; x++) {
    const i = order[x]!;
    if (ex[i] === u || have.has(ds.itemIds[i]!)) continue;
    top.push(ds.itemIds[i]!);
  }
  return top;
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
  const names: Record<string, string> = { model: 'model (int8 shards, ORT)', model_float: 'model (float lists, ORT)', pop: 'Pop', itemknn: 'ItemKNN (cos, shrink 10)' };
  lines.push('TEST (train = all but last)', head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.all));
  lines.push('', `COLD USERS (history <= ${r.split.cold_user_max_history} items)`, head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.cold_users));
  lines.push('', `COLD ITEMS (target seen <= ${r.split.cold_item_max_count} times in training)`, head);
  for (const [k, m] of Object.entries(r.test)) lines.push(row(names[k] ?? k, m.cold_items));
  lines.push('');
  if (r.quantized_vs_float_ndcg_rel_diff !== undefined) lines.push(`quantized vs float NDCG@10: ${(100 * r.quantized_vs_float_ndcg_rel_diff).toFixed(2)}% relative`);
  if (r.sizes) lines.push(`sizes: ${(r.sizes.total_bytes / 1024).toFixed(1)} KiB in all (${r.sizes.shards} neighbour shards, rank graph ${r.sizes.rank_graph_bytes} B)`);
  if (r.ms_per_request !== undefined) lines.push(`per request: ${r.ms_per_request.toFixed(3)} ms (retrieve + features + ORT rank), p50 ${r.candidates_p50} candidates`);
  if (r.rank) lines.push(`rank weights (${r.rank.examples} validation examples, retrieval recall ${r.rank.recall.toFixed(3)}): ${Object.entries(r.rank.weights_by_feature).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(', ')}`);
  lines.push(`timings (s): ${Object.entries(r.timings_s).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  return lines.join('\n');
}
