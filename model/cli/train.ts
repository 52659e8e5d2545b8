/**
 * npm run model:train -- --events FILE --items FILE --out DIR [--seed N] [--no-tune] [--tune-sample N]
 *   [--rank-sample N] [--skip-bad] [--no-export]
 * Tunes retrieval and learns the rank weights on the validation step (all but each user's last
 * two interactions), then builds retrieval data from all interactions and writes the model
 * folder DIR (manifest.json, rank.onnx, lists.json, neighbours/*.bin) — model/pipeline.ts.
 * `--no-export` stops before writing (measurements). Each phase prints its wall time and the
 * process's peak RSS so far on stderr.
 */
import { writeArtifact } from '../artifact';
import { trainModel } from '../pipeline';
import { RANK_SAMPLE } from '../rank/fit';
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
  const { exported: e, config, rank: lr } = trainModel(ds, {
    seed: a.num('seed', 42),
    tune: !a.flag('no-tune'),
    tuneSample: a.num('tune-sample', 8000),
    rankSample: a.num('rank-sample', RANK_SAMPLE),
    phase,
  });
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
