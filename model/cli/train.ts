/**
 * npm run model:train -- --events FILE --items FILE --out DIR [--seed N] [--no-tune] [--float] [--skip-bad] [--no-export] [--tune-sample N]
 * Tunes on the validation step (all but each user's last two interactions), then fits on all
 * interactions and writes DIR/model.onnx (int8) and DIR/manifest.json.
 * `--no-export` stops after fitting (measurements; nothing is written).
 * Each phase prints its wall time and the process's peak RSS so far on stderr.
 */
import { exportModel, writeArtifact } from '../artifact';
import { bar } from '../progress';
import { DEFAULT_CONFIG, fit, tune } from '../train';
import { parseArgs, run } from './args';
import { loadDataset } from './load';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['no-tune', 'float', 'skip-bad', 'no-export']);
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
    config = tr.config;
    metrics.validation_sample = tr.validation;
    training.tuned_on = `validation step (each user's second-to-last interaction) of a seeded sample of ${tr.sampleUsers} users, ${tr.scoring === 'candidates' ? 'scoring the items their neighbour lists reach plus the most popular (large catalog)' : 'ranking the whole catalog'}`;
    phase('tune');
  }
  const fb = bar('neighbours (co-occurrence + top-K)', ds.items.length);
  const fitted = fit(ds, { seqs: ds.seqs, strengths: ds.strengths }, config, undefined, (d) => fb.update(d));
  fb.stop();
  phase('fit');
  const v = metrics.validation_sample as { hr: number; ndcg: number } | undefined;
  const summary = [
    v ? `  validation (sample): HR@10 ${v.hr.toFixed(4)} NDCG@10 ${v.ndcg.toFixed(4)}` : '  (not tuned)',
    `  config ${JSON.stringify(config)}`,
  ];
  if (a.flag('no-export')) {
    process.stdout.write([`model fitted (not exported: --no-export): items ${fitted.params.n}, attributes ${fitted.params.a}, neighbours ${fitted.params.k}, max item attributes ${fitted.params.t}`, ...summary, `  ${((Date.now() - t0) / 1000).toFixed(1)} s`].join('\n') + '\n');
    return;
  }
  const eb = bar('export (quantize, graphs, write)', 2);
  const e = exportModel(ds, fitted.params, config, training, metrics);
  eb.update(1);
  writeArtifact(out, e, a.flag('float'));
  eb.update(2);
  eb.stop();
  phase('export');
  process.stdout.write(
    [
      `model ${e.manifest.version} -> ${out}/model.onnx, ${out}/manifest.json`,
      `  items ${e.manifest.dims.items}, attributes ${e.manifest.dims.attributes}, neighbours ${e.manifest.dims.neighbours}, max item attributes ${e.manifest.dims.max_item_attributes}`,
      `  int8 graph ${(e.quantBytes.length / 1024).toFixed(1)} KiB (float graph ${(e.floatBytes.length / 1024).toFixed(1)} KiB)`,
      ...summary,
      `  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
});
