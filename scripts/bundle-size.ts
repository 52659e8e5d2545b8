/**
 * npm run bundle:size [-- --env staging] [--dir dist/x] [--write-readme]
 *
 * Builds the Worker with `wrangler deploy --dry-run --outdir` (offline, nothing is uploaded),
 * measures the gzip size of the upload and fails (exit 1) when it is over the budget in
 * bundle-budget.json. CI runs it before the tests (.ci/run). With --dir it measures an existing
 * build instead; --write-readme updates the "Current bundle" line of the README.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, measure, mib, readBudget, report, writeReadmeSize } from './lib/bundle';
import { ROOT } from './lib/wrangler';

const { values } = parseArgs({
  options: { env: { type: 'string' }, dir: { type: 'string' }, 'write-readme': { type: 'boolean', default: false } },
});

const budget = readBudget();
let dir: string;
let summary: string | null = null;
if (values.dir) dir = resolve(ROOT, values.dir);
else {
  dir = resolve(ROOT, 'dist', values.env ?? 'ci');
  summary = build({ env: values.env, outdir: dir }).summary;
}
const size = measure(dir, summary);
console.log(report(size, budget));
if (values['write-readme'] && writeReadmeSize(size, budget)) console.log('README.md: current bundle size updated');
if (size.gzip > budget.gzip_bytes) {
  console.error(
    `\nBundle budget exceeded: ${mib(size.gzip)} gzip > ${mib(budget.gzip_bytes)} (by ${size.gzip - budget.gzip_bytes} bytes).\n` +
      'Find what grew (the list above), or — if the growth is intended — raise gzip_bytes in bundle-budget.json in the same change and say why.',
  );
  process.exit(1);
}
console.log(`\nwithin budget: ${mib(size.gzip)} ≤ ${mib(budget.gzip_bytes)}`);
