/**
 * npm run model:eval -- --events FILE --items FILE [--predictions OUT.jsonl] [--model DIR]
 *   [--seed N] [--no-tune] [--out DIR] [--json REPORT.json] [--rank-sample N] [--no-float] [--no-val-baselines] [--skip-bad]
 * Trains on the split (tuning on validation, refitting for test), exports the int8 ONNX graph
 * and scores it through onnxruntime-web; or, with --model DIR, evaluates an existing artifact.
 */
import { writeFileSync } from 'node:fs';
import { readArtifact } from '../artifact';
import { evaluate, formatReport } from '../evaluate';
import { parseArgs, run } from './args';
import { loadDataset } from './load';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['no-tune', 'no-float', 'no-val-baselines', 'skip-bad']);
  const t0 = Date.now();
  const ds = await loadDataset(a);
  const modelDir = a.str('model');
  const report = await evaluate(ds, {
    seed: a.num('seed', 42),
    noTune: a.flag('no-tune'),
    model: modelDir ? readArtifact(modelDir) : undefined,
    predictions: a.str('predictions'),
    float: !a.flag('no-float'),
    validationBaselines: !a.flag('no-val-baselines'),
    outDir: a.str('out'),
    tuneSample: a.num('tune-sample', 8000),
    rankSample: a.str('rank-sample') ? a.num('rank-sample', 0) : undefined,
  });
  report.timings_s.total = (Date.now() - t0) / 1000;
  process.stdout.write(formatReport(report) + '\n');
  const json = a.str('json');
  if (json) writeFileSync(json, JSON.stringify({ ...report, manifest: undefined }, null, 2) + '\n');
});
