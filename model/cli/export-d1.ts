/** npm run data:export -- --out DIR [--remote] [--page N]: D1 catalog + events -> DIR/items.csv, DIR/events.csv */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { d1Source, exportFromD1 } from '../export-d1';
import { eventsCsv, itemsCsv } from '../io';
import { parseArgs, run } from './args';

run(() => {
  const a = parseArgs(process.argv.slice(2), ['remote']);
  const out = a.need('out');
  const where = a.flag('remote') ? 'remote' : 'local';
  const r = exportFromD1(d1Source(where), a.num('page', 5000));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'items.csv'), itemsCsv(r.items));
  writeFileSync(join(out, 'events.csv'), eventsCsv(r.events));
  process.stdout.write(`exported ${r.items.length} items and ${r.events.length} events (${where})${r.skipped ? `, skipped ${r.skipped} of unknown type` : ''} -> ${out}\n`);
});
