/**
 * npm run data:export -- --out DIR [--env staging|production] [--page N] [--bucket NAME]:
 * the D1 catalog + the R2 event log -> DIR/items.csv, DIR/events.csv. Local state by default; with
 * --env, that environment's D1 database and EXPORTS bucket from wrangler.toml (model/target.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { d1Source, exportFromD1, r2LogSource } from '../export-d1';
import { eventsCsv, itemsCsv } from '../io';
import { describeTarget, parseEnvironment, resolveTarget } from '../target';
import { fail, parseArgs, run } from './args';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['remote']);
  if (a.flag('remote')) fail('--remote is gone: name the deployed environment with --env staging|production (its own bucket and database)');
  const out = a.need('out');
  const target = await resolveTarget(parseEnvironment(a.str('env')));
  process.stderr.write(`reading from ${describeTarget(target)}\n`);
  const r = await exportFromD1(d1Source(target), a.num('page', 5000), r2LogSource(target, a.str('bucket')));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'items.csv'), itemsCsv(r.items));
  writeFileSync(join(out, 'events.csv'), eventsCsv(r.events));
  process.stdout.write(`exported ${r.items.length} items and ${r.events.length} events from ${r.logObjects} log objects + legacy D1 rows (${target.env ?? 'local'})${r.skipped ? `, skipped ${r.skipped} of unknown type` : ''} -> ${out}\n`);
});
