/** npm run data:demo -- --out DIR [--items N] [--users N] [--seed N]  -> DIR/items.csv, DIR/events.csv */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDemo } from '../demo-data';
import { eventsCsv, itemsCsv } from '../io';
import { parseArgs, run } from './args';

run(() => {
  const a = parseArgs(process.argv.slice(2));
  const out = a.str('out') ?? 'data/demo';
  const d = generateDemo({ items: a.num('items', 3000), users: a.opts.has('users') ? a.num('users', 0) : undefined, seed: a.num('seed', 7) });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'items.csv'), itemsCsv(d.items));
  writeFileSync(join(out, 'events.csv'), eventsCsv(d.events));
  const users = new Set(d.events.map((e) => e.user)).size;
  process.stdout.write(`demo: ${d.items.length} items, ${users} shoppers, ${d.events.length} events -> ${out}/items.csv, ${out}/events.csv\n`);
});
