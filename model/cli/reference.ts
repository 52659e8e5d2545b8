/**
 * npm run model:reference [-- --data ../shared/data]
 * Checks that the evaluator's own Pop and ItemKNN baselines reproduce the reference numbers of the
 * shared protocol on the real data sets (Beauty, ML-100K), to 4 decimals. An evaluation, not a
 * test: the data sets live outside the repo, so `npm test` covers the same code on fixtures
 * (test/model/evaluate.test.ts) and this command on the real files when they are present.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { convertFiles } from '../convert';
import { buildDataset } from '../dataset';
import { evaluateBaselines } from '../evaluate';

const { values } = parseArgs({ options: { data: { type: 'string', default: resolve(import.meta.dirname, '../../../shared/data') } } });
const data = values.data!;

/** HR@10, NDCG@10, MRR@10 from the reference table (../shared/README.md). */
const REFERENCE = [
  { name: 'ML-100K', format: 'ml-100k' as const, input: 'ml-100k', probe: 'ml-100k/u.data', pop: ['0.0498', '0.0253', '0.0179'], itemknn: ['0.0551', '0.0264', '0.0178'] },
  { name: 'Beauty', format: 'amazon' as const, input: 'amazon-beauty/Beauty.txt', probe: 'amazon-beauty/Beauty.txt', pop: ['0.0135', '0.0061', '0.0039'], itemknn: ['0.0715', '0.0412', '0.0319'] },
];

let failed = 0;
let ran = 0;
for (const ref of REFERENCE) {
  if (!existsSync(join(data, ref.probe))) {
    console.log(`${ref.name}: ${join(data, ref.probe)} not found, not checked`);
    continue;
  }
  ran++;
  const c = convertFiles(ref.format, join(data, ref.input));
  const t = evaluateBaselines(buildDataset(c.events, c.items), 1);
  for (const [label, m, want] of [['Pop', t.pop, ref.pop], ['ItemKNN', t.itemknn, ref.itemknn]] as const) {
    const got = [m.hr, m.ndcg, m.mrr].map((x) => x.toFixed(4));
    const ok = got.join() === want.join();
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${ref.name} ${label}: HR@10 ${got[0]} NDCG@10 ${got[1]} MRR@10 ${got[2]} (reference ${want.join(' / ')})`);
  }
}
if (!ran) console.log('no data set found: nothing checked');
process.exit(failed ? 1 : 0);
