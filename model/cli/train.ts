/**
 * npm run model:train -- --events FILE --items FILE --out DIR [--seed N] [--no-tune] [--tune-sample N]
 *   [--rank-sample N] [--skip-bad] [--no-export]
 * Tunes retrieval and learns the rank weights on the validation step (all but each user's last
 * two interactions), then builds retrieval data from all interactions and writes the model
 * folder DIR (manifest.json, rank.onnx, lists.json, neighbours/*.bin).
 * `--no-export` stops before writing (measurements). Each phase prints its wall time and the
 * process's peak RSS so far on stderr.
 */
import { exportModel, writeArtifact } from '../artifact';
import { bar, phases } from '../progress';
import { allSeqs, learnRank, RANK_SAMPLE } from '../rank/fit';
import { DEFAULT_CONFIG, tune } from '../train';
import { parseArgs, run } from './args';
import { loadDataset } from './load';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['no-tune', 'skip-bad', 'no-export']);
  const t0 = Date.now();
  let tp = t0;
  const phase = (name: string) => {
    const now = Date.now();
    process.stderr.write(`phase ${name}: ${((now - tp) / 1000).toFixed(1)} s, peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`);
    tp = now;
  };
  const ds = await loadDataset(a);
  phase('read');
  const out = a.need('out');
  const seed = a.num('seed', 42);
  let config = { ...DEFAULT_CONFIG };
  const metrics: Record<string, unknown> = {};
  const training: Record<string, unknown> = { seed, trained_on: 'all interactions' };
  let tunable = 0;
  for (const s of ds.seqs) if (s.length >= 3) tunable++;
  if (!a.flag('no-tune') && tunable >= 20) {
    const tr = tune(ds, seed, config, { sample: a.num('tune-sample', 8000), bar });
    config = { ...config, seqWeight: tr.config.seqWeight, historyDecay: tr.config.historyDecay };
    metrics.validation_retrieval_sample = tr.validation;
    training.tuned_on = `validation step (each user's second-to-last interaction) of a seeded sample of ${tr.sampleUsers} users`;
    phase('tune');
  }
  const progress = phases();
  const lr = learnRank(ds, config, seed, { sample: a.num('rank-sample', RANK_SAMPLE), progress });
  progress.done();
  phase('learn rank weights');
  metrics.rank_learning = { examples: lr.examples, retrieval_recall: lr.recall, candidates_p50: lr.candidates_p50, loss: lr.loss, ndcg_examples: lr.ndcg_examples };
  const e = exportModel({ ds, data: allSeqs(ds), config, weights: lr.weights, training, metrics, progress });
  progress.done();
  phase('retrieval data and shards');
  const m = e.manifest;
  if (!a.flag('no-export')) {
    writeArtifact(out, e);
    phase('write');
  }
  process.stdout.write(
    [
      `model ${m.version} -> ${a.flag('no-export') ? '(not written: --no-export)' : `${out}/`} (manifest.json, rank.onnx, lists.json, ${m.dims.shards} neighbour shards)`,
      `  items ${m.dims.items}, ${m.dims.neighbours} collaborative + ${m.dims.content_neighbours} content neighbours per item, ${(m.files.total_bytes / 1048576).toFixed(2)} MiB in all`,
      `  rank weights (${lr.examples} validation examples, retrieval recall ${lr.recall.toFixed(3)}, p50 ${lr.candidates_p50} candidates): ${Object.entries(m.weights).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`,
      `  config ${JSON.stringify(config)}`,
      `  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
});
