/** The large-data paths give the same results as the in-memory ones (streamed reading, row-by-row neighbours, synthetic store). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, readDataset } from '../../model/dataset';
import { generateDemo } from '../../model/demo-data';
import { eventsCsv, itemsCsv, parseEvents, parseItems } from '../../model/io';
import { blended, cooccurrence, neighbourLists, pruneTopK } from '../../model/similarity';
import { generateSynthetic, type SyntheticEvent } from '../../model/synthetic';
import type { ItemRow } from '../../model/io';

describe('large-data paths', () => {
  it('readDataset (streamed) equals buildDataset (in memory), with hours and devices', async () => {
    const items: ItemRow[] = [];
    const events: SyntheticEvent[] = [];
    generateSynthetic({ items: 2000, events: 8000, seed: 3 }, { item: (i) => items.push(i), event: (e) => events.push(e) });
    const dir = mkdtempSync(join(tmpdir(), 'p13n-scale-'));
    try {
      writeFileSync(join(dir, 'items.csv'), itemsCsv(items));
      writeFileSync(join(dir, 'events.csv'), eventsCsv(events));
      const { ds } = await readDataset(join(dir, 'events.csv'), join(dir, 'items.csv'));
      const mem = buildDataset(parseEvents(eventsCsv(events), 'e.csv').rows, parseItems(itemsCsv(items), 'i.csv').rows);
      expect(ds.summary).toEqual(mem.summary);
      expect(ds.attributes).toEqual(mem.attributes);
      expect(ds.itemAttrs).toEqual(mem.itemAttrs);
      expect(ds.seqs.map((s) => Array.from(s))).toEqual(mem.seqs.map((s) => Array.from(s)));
      expect(ds.devices!.map((s) => Array.from(s))).toEqual(mem.devices!.map((s) => Array.from(s)));
      expect(ds.hours!.map((s) => Array.from(s))).toEqual(ds.times.map((t) => Array.from(t, (x) => new Date(x).getUTCHours())));
      expect(new Set(events.map((e) => e.device))).toEqual(new Set(['mobile', 'desktop', 'other']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('neighbourLists equals pruneTopK(cooccurrence, blended) for every seqWeight', () => {
    const d = generateDemo({ items: 500, users: 700, seed: 5 });
    const ds = buildDataset(d.events, d.items);
    expect(ds.hours).toBeDefined();
    expect(ds.devices).toBeUndefined();
    const n = ds.items.length;
    const sws = [0, 1, 3, 6];
    const nl = neighbourLists(n, ds.seqs, { window: 3, seqDecay: 0.5, shrink: 10, seqWeights: sws, k: 20 });
    const c = cooccurrence(n, ds.seqs, { window: 3, seqDecay: 0.5 });
    expect(Array.from(nl.count)).toEqual(Array.from(c.count));
    sws.forEach((sw, s) => {
      const want = pruneTopK(c, blended(c, 10, sw), 20);
      expect(Array.from(nl.lists[s]!.idx)).toEqual(Array.from(want.idx));
      expect(Array.from(nl.lists[s]!.w)).toEqual(Array.from(want.w));
    });
  });
});
