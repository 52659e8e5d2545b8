/**
 * npm run data:synthetic -- --items N --events M --out DIR [--seed S]
 *   -> DIR/items.csv (item_id,title,category,brand,price,tags), DIR/events.csv (user_id,item_id,timestamp,type,device)
 * A large synthetic store (model/synthetic.ts), written as a stream: memory stays ~100 bytes per item.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { csvField } from '../io';
import { bar, type Progress } from '../progress';
import { generateSynthetic } from '../synthetic';
import { parseArgs, run } from './args';

/** Buffered line writer: ~1 MB strings, written synchronously. */
class LineWriter {
  private buf: string[] = [];
  private size = 0;
  private readonly fd: number;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  line(s: string): void {
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size >= 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

run(() => {
  const a = parseArgs(process.argv.slice(2));
  const items = a.num('items', 1_000_000);
  const events = a.num('events', 5_000_000);
  const out = a.need('out');
  mkdirSync(out, { recursive: true });
  const iw = new LineWriter(join(out, 'items.csv'));
  const ew = new LineWriter(join(out, 'events.csv'));
  iw.line('item_id,title,category,brand,price,tags');
  ew.line('user_id,item_id,timestamp,type,device');
  const bars: Partial<Record<'items' | 'events', Progress>> = {};
  const t0 = Date.now();
  const s = generateSynthetic(
    { items, events, seed: a.num('seed', 7) },
    {
      item: (it) => iw.line([it.id, it.title, it.category, it.brand, it.price, it.tags.join('|')].map(csvField).join(',')),
      event: (e) => ew.line(`${e.user},${e.item},${e.ts},${e.type},${e.device}`),
      progress: (phase, done, total) => {
        const b = (bars[phase] ??= bar(`synthetic ${phase}`, total));
        b.update(done);
        if (done >= total) b.stop();
      },
    },
  );
  iw.close();
  ew.close();
  process.stdout.write(`synthetic: ${s.items} items (${s.categories} categories, ${s.brands} brands), ${s.users} shoppers, ${s.events} events -> ${out}/items.csv, ${out}/events.csv (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
});
