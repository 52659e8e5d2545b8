/** npm run data:export -- --out DIR [--remote] [--page N] [--bucket NAME]: D1 catalog + the R2 event log -> DIR/items.csv, DIR/events.csv */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { d1Source, exportFromD1, LOG_BUCKET, r2LogSource } from '../export-d1';
import { eventsCsv, itemsCsv } from '../io';
import { parseArgs, run } from './args';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['remote']);
  const out = a.need('out');
  const where = a.flag('remote') ? 'remote' : 'local';
  const r = await exportFromD1(d1Source(where), a.num('page', 5000), r2LogSource(where, typeof a.opts.get('bucket') === 'string' ? (a.opts.get('bucket') as string) : LOG_BUCKET));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'items.csv'), itemsCsv(r.items));
  writeFileSync(join(out, 'events.csv'), eventsCsv(r.events));
  process.stdout.write(`exported ${r.items.length} items and ${r.events.length} events from ${r.logObjects} log objects + legacy D1 rows (${where})${r.skipped ? `, skipped ${r.skipped} of unknown type` : ''} -> ${out}\n`);
});
