/**
 * Context matters when the data says so: a store whose "nightwear" sells at night and whose
 * "coffee" sells in the morning. The trainer learns a weight for the hour signal from that, and
 * the same shopper, with the same history, is shown more of each at its hour. The same with
 * devices. Through the real pipeline: retrieval data, learned weights, exported rank graph in ORT.
 */
import { describe, expect, it } from 'vitest';
import { exportModel } from '../../model/artifact';
import { buildDataset } from '../../model/dataset';
import type { EventRow, ItemRow } from '../../model/io';
import { createSession, runRank } from '../../model/ort';
import { allSeqs, learnRank } from '../../model/rank/fit';
import { InMemoryShards } from '../../model/rank/shard-set';
import { DEFAULT_CONFIG, rng } from '../../model/train';
import { retrieve, type Shopper } from '../../worker/ranking/two-stage/candidates';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 9, 1);

function rows(contextOf: (cat: string, r: () => number) => { hour: number; device: 'mobile' | 'desktop' }): [EventRow[], ItemRow[]] {
  const r = rng(5);
  const items: ItemRow[] = [];
  for (const cat of ['nightwear', 'coffee'])
    for (let i = 0; i < 40; i++) items.push({ id: `${cat}-${i}`, category: cat, brand: `b${i % 5}`, price: 10 + i, tags: [] });
  const events: EventRow[] = [];
  for (let u = 0; u < 800; u++) {
    const day = Math.floor(r() * 25);
    for (let p = 0; p < 6; p++) {
      const cat = r() < 0.5 ? 'nightwear' : 'coffee';
      const it = `${cat}-${Math.floor(r() * 40)}`;
      const c = contextOf(cat, r);
      const ts = T0 + day * DAY + c.hour * 3_600_000 + p * 60_000;
      events.push({ user: `u${u}`, item: it, ts, type: 'purchase', device: c.device });
    }
  }
  return [events, items];
}

const store = (contextOf: Parameters<typeof rows>[0]) => buildDataset(...rows(contextOf));
const flatStore = () => rows((_, r) => ({ hour: Math.floor(r() * 24), device: r() < 0.5 ? 'mobile' : 'desktop' }));

async function trained(ds: ReturnType<typeof buildDataset>) {
  const cfg = { ...DEFAULT_CONFIG };
  const lr = learnRank(ds, cfg, 3, { sample: 800 });
  const e = exportModel({ ds, data: allSeqs(ds), config: cfg, weights: lr.weights, training: {} });
  return { e, shards: new InMemoryShards(e.shards), session: await createSession(e.rank) };
}

async function top10(m: Awaited<ReturnType<typeof trained>>, ds: ReturnType<typeof buildDataset>, shopper: Shopper): Promise<string[]> {
  const c = retrieve({
    shopper,
    lists: m.e.retrieval.lists,
    neighbours: m.shards.lists(shopper.history.map((h) => h.id)),
    facts: (id) => {
      const it = ds.items[ds.itemIndex.get(id)!];
      return it ? { category: it.category ?? null, brand: it.brand ?? null, price: it.price ?? null } : undefined;
    },
    allow: (id) => !shopper.history.some((h) => h.id === id),
    decay: 0.7,
  });
  const r = await runRank(m.session, c.features, c.ids.length, 10);
  return r.indices.map((i) => c.ids[i]!);
}

const mixed: Shopper['history'] = ['nightwear-1', 'coffee-2', 'nightwear-3', 'coffee-4'].map((id, position) => ({ id, weight: 0.7 ** position, position }));
const share = (ids: string[], cat: string) => ids.filter((i) => i.startsWith(cat)).length;

describe('context features are learned from the data', () => {
  it('the hour of the request changes the ranking when purchases depend on the hour', async () => {
    // nightwear bought between 0:00 and 5:59, coffee between 6:00 and 11:59 (UTC)
    const ds = store((cat, r) => ({ hour: (cat === 'nightwear' ? 0 : 6) + Math.floor(r() * 6), device: 'mobile' }));
    const m = await trained(ds);
    expect(m.e.manifest.weights.hour_match).toBeGreaterThan(0);
    const night = await top10(m, ds, { history: mixed, hour: 2 });
    const morning = await top10(m, ds, { history: mixed, hour: 9 });
    expect(share(night, 'nightwear')).toBeGreaterThan(share(morning, 'nightwear'));
    expect(share(morning, 'coffee')).toBeGreaterThan(share(night, 'coffee'));
  });

  it('the device changes the ranking when purchases depend on the device', async () => {
    const ds = store((cat, r) => ({ hour: Math.floor(r() * 24), device: (cat === 'nightwear') === r() < 0.9 ? 'mobile' : 'desktop' }));
    const m = await trained(ds);
    expect(m.e.manifest.weights.device_match).toBeGreaterThan(0);
    const mobile = await top10(m, ds, { history: mixed, hour: 12, device: 'mobile' });
    const desktop = await top10(m, ds, { history: mixed, hour: 12, device: 'desktop' });
    expect(share(mobile, 'nightwear')).toBeGreaterThan(share(desktop, 'nightwear'));
  });

  it('without such a pattern the context tables stay near zero', async () => {
    const flat = buildDataset(...flatStore());
    const m = await trained(flat);
    for (const row of [...Object.values(m.e.retrieval.lists.hour), ...Object.values(m.e.retrieval.lists.device)]) for (const x of row) expect(Math.abs(x)).toBeLessThan(0.25);
  });
});
