/**
 * npm run data:convert -- --format amazon|ml-100k --input FILE|DIR [--attrs FILE] --out DIR [--skip-bad]
 * Writes DIR/events.csv and DIR/items.csv in the pipeline's input formats.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertFiles } from '../convert';
import { eventsCsv, itemsCsv } from '../io';
import { fail, parseArgs, run } from './args';

run(() => {
  const a = parseArgs(process.argv.slice(2), ['skip-bad']);
  const format = a.str('format') ?? (a.positional[0] && /u\.data$|ml-100k/.test(a.positional[0]) ? 'ml-100k' : 'amazon');
  if (format !== 'amazon' && format !== 'ml-100k') fail('--format must be amazon or ml-100k');
  const input = a.str('input') ?? a.positional[0] ?? fail('missing --input');
  const out = a.need('out');
  const c = convertFiles(format, input, a.str('attrs'), a.flag('skip-bad'));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'events.csv'), eventsCsv(c.events, format !== 'amazon'));
  writeFileSync(join(out, 'items.csv'), itemsCsv(c.items));
  const users = new Set(c.events.map((e) => e.user)).size;
  process.stdout.write(`${format}: ${users} users, ${c.items.length} items, ${c.events.length} events -> ${out}/events.csv, ${out}/items.csv${c.skipped ? ` (skipped ${c.skipped} bad rows)` : ''}\n`);
});
