/**
 * npm run model:train -- --events FILE --items FILE --out DIR [--seed N] [--no-tune] [--rank-sample N] [--skip-bad]
 * Tunes retrieval and learns the rank weights on the validation step (all but each user's last
 * two interactions), then builds retrieval data from all interactions and writes the model
 * folder DIR (manifest.json, rank.onnx, lists.json, neighbours/*.bin).
 */
import { exportModel, writeArtifact } from '../artifact';
import { bar, phases } from '../progress';
import { allSeqs, learnRank } from '../rank/fit';
import { DEFAULT_CONFIG, tune } from '../train';
import { parseArgs, run } from './args';
import { loadDataset } from './load';

run(() => {
  const a = parseArgs(process.argv.slice(2), ['no-tune', 'skip-bad']);
  const t0 = Date.now();
  const ds = loadDataset(a);
  const out = a.need('out');
  const seed = a.num('seed', 42);
  let config = { ...DEFAULT_CONFIG };
  const metrics: Record<string, unknown> = {};
  const training: Record<string, unknown> = { seed, trained_on: 'all interactions' };
  const tunable = ds.seqs.filter((s) => s.length >= 3).length;
  const progress = phases();
  if (!a.flag('no-tune') && tunable >= 20) {
    const b = bar('tuning retrieval (validation)', 1);
    const tr = tune(ds, seed, config, { sample: a.num('tune-sample', 8000), progress: (d, t) => b.update(d, t) });
    b.stop();
    config = { ...config, seqWeight: tr.config.seqWeight, historyDecay: tr.config.historyDecay };
    metrics.validation_retrieval_sample = tr.validation;
    training.tuned_on = "validation step (each user's second-to-last interaction) of a seeded user sample";
  }
  const lr = learnRank(ds, config, seed, { sample: a.num('rank-sample', 6000), progress });
  progress.done();
  metrics.rank_learning = { examples: lr.examples, retrieval_recall: lr.recall, candidates_p50: lr.candidates_p50, loss: lr.loss };
  const e = exportModel({ ds, data: allSeqs(ds), config, weights: lr.weights, training, metrics, progress });
  progress.done();
  writeArtifact(out, e);
  const m = e.manifest;
  process.stdout.write(
    [
      `model ${m.version} -> ${out}/ (manifest.json, rank.onnx, lists.json, ${m.dims.shards} neighbour shards)`,
      `  items ${m.dims.items}, ${m.dims.neighbours} collaborative + ${m.dims.content_neighbours} content neighbours per item, ${(m.files.total_bytes / 1048576).toFixed(2)} MiB in all`,
      `  rank weights (${lr.examples} validation examples, retrieval recall ${lr.recall.toFixed(3)}, p50 ${lr.candidates_p50} candidates): ${Object.entries(m.weights).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`,
      `  config ${JSON.stringify(config)}`,
      `  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
});
