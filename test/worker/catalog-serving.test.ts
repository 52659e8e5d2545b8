/**
 * The serving catalog (worker/catalog/): a columnar snapshot in R2 plus the D1 change log applied
 * per isolate. Real D1 and R2. "Another isolate" is the worker's own code called with a distinct
 * D1 binding object: its catalog state is separate, so it sees a change only through the log.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogView } from '../../worker/catalog/catalog-view';
import { decodeSnapshot } from '../../worker/catalog/format';
import { catalogReadStats } from '../../worker/catalog/read-stats';
import { readMeta, snapshotKey } from '../../worker/catalog/snapshot-store';
import { SnapshotWriter } from '../../worker/catalog/snapshot-writer';
import { patchItem, removeItem, upsertItems } from '../../worker/catalog/writes';
import { FREQUENT, runScheduled } from '../../worker/ops/cron';
import { ADMIN, fixtureCatalog } from './helpers';
import { call, captureLogs } from './ops-helpers';

/** A D1 binding object of its own: the worker keeps a separate catalog for it, like a fresh isolate. */
function isolateDb(): D1Database {
  return { prepare: (q: string) => env.DB.prepare(q), batch: (s: D1PreparedStatement[]) => env.DB.batch(s), exec: (q: string) => env.DB.exec(q) } as unknown as D1Database;
}

const json = async (res: Response) => (await res.json()) as any;
const recsIn = async (db: D1Database, query: string) => {
  const res = await call(`/v1/recommendations?${query}`, undefined, { DB: db });
  expect(res.status).toBe(200);
  return json(res);
};
const healthIn = async (db: D1Database) => (await json(await call('/v1/admin/health', { headers: ADMIN }, { DB: db }))).storage;
const ids = (body: any) => body.items.map((i: any) => i.item_id as string);
const buildSnapshot = async () => {
  const res = await call('/v1/admin/catalog/snapshot', { method: 'POST', headers: ADMIN });
  expect(res.status).toBe(200);
  return json(res);
};

const catalog = fixtureCatalog();
const withDeltaMax = (max: string) => ({ ...env, CATALOG_DELTA_MAX: max }) as unknown as Env;

beforeAll(async () => {
  const res = await call('/v1/admin/catalog', { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(catalog) });
  expect(res.status).toBe(200);
});

describe('serving catalog', () => {
  it('a stock change reaches a running isolate as a delta of a few rows, not a full catalog read', async () => {
    const db = isolateDb();
    // Before any snapshot, the whole catalog is the change log from seq 0: a full read.
    let before = catalogReadStats().delta.rows;
    expect(ids(await recsIn(db, 'slot=cat-a&k=4'))).toEqual(['skincare-0', 'makeup-0', 'haircare-0', 'fragrance-0']);
    const fullRead = catalogReadStats().delta.rows - before;
    expect(fullRead).toBeGreaterThanOrEqual(catalog.length);

    const built = await buildSnapshot();
    expect(built).toMatchObject({ items: catalog.length, previous: null });
    expect((await readMeta(env.DB))?.id).toBe(built.id);
    // The isolate sees the new meta row on its next check and loads the snapshot (in the background).
    await recsIn(db, 'slot=cat-a&k=4');
    expect((await healthIn(db)).catalog).toMatchObject({ snapshot: built.id, items: catalog.length });

    // Another isolate marks the top item out of stock.
    expect(await patchItem(env.DB, 'skincare-0', { inStock: false })).toBe(true);
    before = catalogReadStats().delta.rows;
    const buildReads = catalogReadStats().build.queries;
    await recsIn(db, 'slot=cat-a&k=4'); // answers, then applies the change (CATALOG_TTL_MS is 0 here)
    const after = await recsIn(db, 'slot=cat-a&k=4&in_stock=true');
    expect(ids(after)).not.toContain('skincare-0');
    expect(ids(after)).toEqual(['makeup-0', 'haircare-0', 'fragrance-0', 'skincare-1']);
    const refreshRows = catalogReadStats().delta.rows - before;
    // Two refreshes: each the meta row plus the changes past the applied seq (one change, one item).
    expect(refreshRows).toBeGreaterThan(0);
    expect(refreshRows).toBeLessThanOrEqual(12);
    expect(refreshRows * 10).toBeLessThan(fullRead);
    expect(catalogReadStats().build.queries).toBe(buildReads);
    // Still the same snapshot, patched in place: no reload.
    expect((await healthIn(db)).catalog).toMatchObject({ snapshot: built.id, overlay: 0 });
    // The item is still served where out-of-stock items are allowed, with its new stock state.
    const all = await recsIn(db, 'slot=cat-a&k=4&in_stock=false');
    expect(all.items.find((i: any) => i.item_id === 'skincare-0')).toMatchObject({ in_stock: false, title: 'skincare product 0' });
    await patchItem(env.DB, 'skincare-0', { inStock: true });
  });

  it("a fresh isolate's first requests read only the items they touch from D1 while the snapshot loads, and answer as the loaded catalog does", async () => {
    const built = await buildSnapshot();
    const db = isolateDb();
    const queries = ['slot=home&k=6', 'slot=cat&k=4&category=makeup&max_price=20', 'slot=pdp&k=5&item_id=skincare-3'];
    const answer = async (q: string) => {
      const res = await call(`/v1/recommendations?${q}`, undefined, { DB: db, CATALOG_COLD_BYTES: '0' });
      expect(res.status).toBe(200);
      const timing = (res.headers.get('server-timing') ?? '').split(', ').map((p) => p.split(';')[0]);
      return { ids: ids(await json(res)), partial: timing.includes('catalog-partial') };
    };
    const snapshotReads = catalogReadStats().partial.queries;
    // All three start before the snapshot is read: each is served from the few items it looked up.
    const cold = await Promise.all(queries.map(answer));
    expect(cold.map((a) => a.partial)).toEqual([true, true, true]);
    expect(catalogReadStats().partial.queries).toBeGreaterThan(snapshotReads);
    // Meanwhile the isolate loaded the snapshot: the same requests now use it, with the same answers.
    expect((await healthIn(db)).catalog).toMatchObject({ snapshot: built.id, items: catalog.length });
    const warm = await Promise.all(queries.map(answer));
    expect(warm.map((a) => a.partial)).toEqual([false, false, false]);
    expect(cold.map((a) => a.ids)).toEqual(warm.map((a) => a.ids));
    expect(cold[1]!.ids).toEqual(['makeup-0', 'makeup-1', 'makeup-2', 'makeup-3']);
  });

  it('display fields come with served items and follow a title change', async () => {
    const db = isolateDb();
    const first = await recsIn(db, 'slot=cat-b&k=2&category=makeup');
    expect(first.items[0]).toMatchObject({ item_id: 'makeup-0', title: 'makeup product 0', url: '/product/makeup-0', image_url: null, category: 'makeup', brand: 'brand-1-0', price: 5, in_stock: true });
    expect(await patchItem(env.DB, 'makeup-0', { title: 'Makeup, renamed' })).toBe(true);
    await recsIn(db, 'slot=cat-b&k=2&category=makeup');
    const renamed = await recsIn(db, 'slot=cat-b&k=2&category=makeup');
    expect(renamed.items[0]).toMatchObject({ item_id: 'makeup-0', title: 'Makeup, renamed' });
    // A reason naming a history item uses that item's title, fetched in the same call.
    const session = `cat-s-${crypto.randomUUID()}`;
    const ev = { event_id: `e-${crypto.randomUUID()}`, type: 'view', item_id: 'makeup-3', session_id: session, timestamp: Date.now() };
    expect((await call('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [ev] }) }, { DB: db })).status).toBe(200);
    const withHistory = await recsIn(db, `slot=cat-b&k=3&category=makeup&session_id=${session}`);
    expect(withHistory.items.some((i: any) => i.reason === 'Because you viewed makeup product 3')).toBe(true);
  });

  it('an item added after the snapshot is served from the overlay; a removed item never is', async () => {
    const db = isolateDb();
    await recsIn(db, 'slot=cat-c&k=4'); // this isolate now runs on the snapshot
    await upsertItems(env.DB, [{ item_id: 'new-hot', title: 'New and hot', category: 'haircare', brand: 'b', price: 9, tags: ['sale'], in_stock: true, popularity: 5000 }]);
    expect(await removeItem(env.DB, 'skincare-1')).toBe(true);
    await recsIn(db, 'slot=cat-c&k=4');
    expect(ids(await recsIn(db, 'slot=cat-c&k=4'))).toEqual(['new-hot', 'skincare-0', 'makeup-0', 'haircare-0']);
    expect(ids(await recsIn(db, 'slot=cat-c&k=3&category=haircare'))).toEqual(['new-hot', 'haircare-0', 'haircare-1']);
    const skincare = ids(await recsIn(db, 'slot=cat-c&k=30&category=skincare'));
    expect(skincare).toHaveLength(29);
    expect(skincare).not.toContain('skincare-1');
    const h = (await healthIn(db)).catalog;
    expect(h).toMatchObject({ items: catalog.length, overlay: 1 });
    expect(h.snapshot).not.toBeNull();
  });

  it('a snapshot that is not named by the meta row, or does not match its sha256, is never served', async () => {
    // A builder that died after writing R2: an object nobody named.
    const w = new SnapshotWriter(1);
    w.add({ id: 'ghost', category: 'skincare', brand: null, price: 1, inStock: true, tags: [], popularity: 1e9 });
    await env.MODELS.put(snapshotKey('orphan'), w.finish());
    expect(ids(await recsIn(isolateDb(), 'slot=cat-d&k=4'))).not.toContain('ghost');

    // A named snapshot whose bytes were changed: the top item marked out of stock in its columns.
    const built = await buildSnapshot();
    const obj = await env.MODELS.get(snapshotKey(built.id));
    const bytes = await obj!.arrayBuffer();
    const cols = decodeSnapshot(bytes);
    const view = CatalogView.fromSnapshot(built.id, built.seq, cols);
    cols.flags[view.row('new-hot')] = 0;
    await env.MODELS.put(snapshotKey(built.id), bytes);
    const db = isolateDb();
    const { result, lines } = await captureLogs(() => recsIn(db, 'slot=cat-d&k=4&in_stock=true'));
    expect(lines.some((l) => l.msg === 'catalog_snapshot_unusable' && /sha256/.test(l.error))).toBe(true);
    // Served correctly from the previous snapshot plus the change log.
    expect(ids(result)).toEqual(['new-hot', 'skincare-0', 'makeup-0', 'haircare-0']);
    const h = (await healthIn(db)).catalog;
    expect(h.snapshot).not.toBe(built.id);
    expect(h.items).toBe(catalog.length);
  });

  it('the cron builds a snapshot once more than CATALOG_DELTA_MAX changes wait', async () => {
    const meta = await readMeta(env.DB);
    const quiet = await runScheduled({ cron: FREQUENT, scheduledTime: Date.now() }, withDeltaMax('1000'));
    expect(quiet.catalog_snapshot).toMatchObject({ built: false, max: 1000 });
    await upsertItems(env.DB, catalog.slice(0, 20).map((i) => ({ ...i, image_url: null })));
    const due = (await runScheduled({ cron: FREQUENT, scheduledTime: Date.now() }, withDeltaMax('10'))).catalog_snapshot as any;
    // skincare-1 (removed above) is back among the 20 re-sent items; new-hot stays
    expect(due).toMatchObject({ items: catalog.length + 1, previous: meta!.id });
    // The log up to the previous snapshot is gone; the fallback snapshot still covers it.
    const left = await env.DB.prepare('SELECT MIN(seq) AS min FROM catalog_changes').first<{ min: number | null }>();
    expect(left?.min ?? Infinity).toBeGreaterThan(meta!.seq);
    const listed = await env.MODELS.list({ prefix: 'catalog/snapshots/' });
    expect(listed.objects.map((o) => o.key).sort()).toEqual([snapshotKey(due.id), snapshotKey(meta!.id)].sort());
  });
});

describe('catalog view', () => {
  it('merges the precomputed popularity order with patched and new items, without listing removed ones', () => {
    const w = new SnapshotWriter(7, { all: 50, perCategory: 10 });
    for (let i = 0; i < 1000; i++) w.add({ id: `i${i}`, category: `c${i % 4}`, brand: null, price: i % 7 ? i : null, inStock: true, tags: i % 5 ? [] : ['Sale'], popularity: 1000 - i });
    const v = CatalogView.fromSnapshot('t', 0, decodeSnapshot(w.finish().slice().buffer));
    expect(v.size).toBe(1000);
    expect(v.facts('i14')).toEqual({ id: 'i14', category: 'c2', brand: null, price: null, inStock: true, popularity: 986, deal: false });
    expect(v.facts('i15')?.deal).toBe(true);
    expect(v.facts('nope')).toBeUndefined();
    expect(v.popular(3, () => true).map((f) => f.id)).toEqual(['i0', 'i1', 'i2']);
    v.apply([
      { seq: 1, id: 'i900', item: { id: 'i900', category: 'c1', brand: 'new-brand', price: 3, inStock: true, popularity: 5000, deal: false } },
      { seq: 2, id: 'i0', item: null },
      { seq: 3, id: 'n1', item: { id: 'n1', category: 'c-new', brand: null, price: null, inStock: false, popularity: 999.5, deal: false } },
    ]);
    expect(v.size).toBe(1000);
    expect(v.version).toBe('t@3');
    expect(v.has('i0')).toBe(false);
    expect(v.popular(4, () => true).map((f) => f.id)).toEqual(['i900', 'n1', 'i1', 'i2']);
    expect(v.popular(2, (f) => f.inStock, 'c1').map((f) => f.id)).toEqual(['i900', 'i1']);
    expect(v.popular(5, () => true, 'c-new').map((f) => f.id)).toEqual(['n1']);
    expect(v.facts('i900')).toMatchObject({ brand: 'new-brand', price: 3, popularity: 5000 });
    expect(v.categories()).toEqual(['c-new', 'c0', 'c1', 'c2', 'c3']);
  });
});
