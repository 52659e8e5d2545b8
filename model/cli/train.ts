/**
 * npm run model:train -- --events FILE --items FILE --out DIR [--seed N] [--no-tune] [--float] [--skip-bad]
 * Tunes on the validation step (all but each user's last two interactions), then fits on all
 * interactions and writes DIR/model.onnx (int8) and DIR/manifest.json.
 */
import { exportModel, writeArtifact } from '../artifact';
import { cooccurrence } from '../similarity';
import { bar } from '../progress';
import { DEFAULT_CONFIG, fit, tune } from '../train';
import { parseArgs, run } from './args';
import { loadDataset } from './load';

run(() => {
  const a = parseArgs(process.argv.slice(2), ['no-tune', 'float', 'skip-bad']);
  const t0 = Date.now();
  const ds = loadDataset(a);
  const out = a.need('out');
  const seed = a.num('seed', 42);
  let config = { ...DEFAULT_CONFIG };
  const metrics: Record<string, unknown> = {};
  const training: Record<string, unknown> = { seed, trained_on: 'all interactions' };
  const tunable = ds.seqs.filter((s) => s.length >= 3).length;
  if (!a.flag('no-tune') && tunable >= 20) {
    const b = bar('tuning (validation)', 1);
    const tr = tune(ds, seed, config, { sample: a.num('tune-sample', 8000), progress: (d, t) => b.update(d, t) });
    b.stop();
    config = tr.config;
    metrics.validation_sample = tr.validation;
    training.tuned_on = 'validation step (each user\'s second-to-last interaction) of a seeded user sample';
  }
  const cb = bar('co-occurrence', ds.items.length);
  const cooc = cooccurrence(ds.items.length, ds.seqs, { window: config.window, seqDecay: config.seqDecay, progress: (d) => cb.update(d) });
  cb.stop();
  const fitted = fit(ds, { seqs: ds.seqs, strengths: ds.strengths }, config, cooc);
  const e = exportModel(ds, fitted.params, config, training, metrics);
  writeArtifact(out, e, a.flag('float'));
  const v = metrics.validation_sample as { hr: number; ndcg: number } | undefined;
  process.stdout.write(
    [
      `model ${e.manifest.version} -> ${out}/model.onnx, ${out}/manifest.json`,
      `  items ${e.manifest.dims.items}, attributes ${e.manifest.dims.attributes}, neighbours ${e.manifest.dims.neighbours}, max item attributes ${e.manifest.dims.max_item_attributes}`,
      `  int8 graph ${(e.quantBytes.length / 1024).toFixed(1)} KiB (float graph ${(e.floatBytes.length / 1024).toFixed(1)} KiB)`,
      v ? `  validation (sample): HR@10 ${v.hr.toFixed(4)} NDCG@10 ${v.ndcg.toFixed(4)}` : '  (not tuned)',
      `  config ${JSON.stringify(config)}`,
      `  ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ].join('\n') + '\n',
  );
});
