/** The other ways to ask (rerank, similar items, trending, a page's slots in one call), on the real demo model. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ShardReader, shardOf } from '../../model/format/shards';
import { adminJson, event, fetchWorker, postEvents, publicCaller, seedCatalog } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';

const demo = demoModel();
const { onnx, manifest, catalog } = demo;
const known = new Set(catalog.map((i: any) => i.item_id as string));
const categoryOf = new Map(catalog.map((i: any) => [i.item_id as string, i.category as string]));
const lists = JSON.parse(new TextDecoder().decode(demo.files['lists.json']));

/** The model's own neighbour entry of an item, read from the shard file the test published. */
function neighbourEntry(id: string) {
  const s = shardOf(id, manifest.files.shards.length);
  const bytes = demo.files[`neighbours/${s}.bin`]!;
  return new ShardReader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).get(id)!;
}

const post = (path: string, body: unknown) => fetchWorker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const ids = (body: any): string[] => body.items.map((i: any) => i.item_id);

beforeAll(async () => {
  await seedCatalog(catalog);
  await registerModel('v1', onnx, manifest);
  expect((await activate('v1')).status).toBe(200);
});

describe('POST /v1/rerank', () => {
  const categories = [...new Set(catalog.map((i: any) => i.category))] as string[];
  // A search result: 10 items of each of two categories, least popular first, and two unknown ids.
  const [a, b] = categories;
  const pick = (c: string) => catalog.filter((i: any) => i.category === c).slice(-10).map((i: any) => i.item_id as string);
  const candidates = [...pick(a!), ...pick(b!)];

  it('returns exactly the known candidates (up to 500), ranked by the model, and lists the unknown ones', async () => {
    const many = catalog.slice(0, 498).map((i: any) => i.item_id as string);
    const res = await post('/v1/rerank', { items: [...many, 'no-such-item', 'gone-too', many[0]] });
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    expect(body.strategy).toBe('model');
    expect(body.model_version).toBe('v1');
    expect([...ids(body)].sort()).toEqual([...many].sort());
    expect(body.unknown).toEqual(['no-such-item', 'gone-too']);
    expect(body.items.map((i: any) => i.rank)).toEqual(many.map((_, i) => i + 1));
    const scores = body.items.map((i: any) => i.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
  });

  it("puts the shopper's category first once they browsed it", async () => {
    const viewed = catalog.filter((i: any) => i.category === b).slice(0, 5);
    expect((await postEvents(viewed.map((i: any) => event('view', i.item_id, 'rerank-shopper')))).body.accepted).toBe(5);
    const body = await (await post('/v1/rerank', { items: candidates, session_id: 'rerank-shopper' })).json<any>();
    expect(ids(body).slice(0, 5).every((id) => categoryOf.get(id) === b)).toBe(true);
    expect([...ids(body)].sort()).toEqual([...candidates].sort());
  });

  it("a browser (no server key) cannot rank for a session the worker did not issue to it", async () => {
    const res = await fetchWorker('/v1/rerank', { method: 'POST', headers: publicCaller({ 'content-type': 'application/json' }), body: JSON.stringify({ items: candidates, session_id: 'rerank-shopper' }) });
    expect(res.status).toBe(403);
    expect((await res.json<any>()).error.code).toBe('session_not_issued');
  });

  it('rejects an empty list and more than 500 candidates with 400', async () => {
    for (const items of [[], Array.from({ length: 501 }, (_, i) => `x-${i}`)]) {
      const res = await post('/v1/rerank', { items });
      expect(res.status).toBe(400);
      expect((await res.json<any>()).error.issues[0].field).toBe('items');
    }
  });
});

describe('GET /v1/items/{item_id}/similar', () => {
  const item = lists.popular[0].id as string;

  it("returns k of the item's model neighbours, with reasons naming it, cacheable", async () => {
    const res = await fetchWorker(`/v1/items/${item}/similar?k=5`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const body = await res.json<any>();
    const entry = neighbourEntry(item);
    const expected = [...entry.collaborative.filter((n) => n.w > 0), ...entry.content].map((n) => n.id).filter((id, i, all) => known.has(id) && id !== item && all.indexOf(id) === i);
    expect(ids(body)).toEqual(expected.slice(0, 5));
    const title = catalog.find((i: any) => i.item_id === item).title;
    expect(body.items.every((i: any) => i.reason === `Often viewed with ${title}` || i.reason === `Similar to ${title}`)).toBe(true);
  });

  it('answers 404 for an item the catalog does not know and 400 for a bad k', async () => {
    expect((await fetchWorker('/v1/items/no-such-item/similar')).status).toBe(404);
    const bad = await fetchWorker(`/v1/items/${item}/similar?k=0`);
    expect(bad.status).toBe(400);
    expect((await bad.json<any>()).error.issues[0].field).toBe('k');
  });
});

describe('GET /v1/trending', () => {
  const trending = (lists.trending as { id: string }[]).map((t) => t.id).filter((id) => known.has(id));

  it("is the model's trending list, per category, without out-of-stock items", async () => {
    const gone = trending[0]!;
    expect((await adminJson(`/v1/admin/catalog/${gone}`, 'PATCH', { in_stock: false })).status).toBe(200);
    const body = await (await fetchWorker('/v1/trending?k=5')).json<any>();
    expect(ids(body)).toEqual(trending.slice(1, 6));
    expect(body.items[0].reason).toMatch(/^Trending in /);
    const cat = categoryOf.get(trending[1]!)!;
    const inCat = await (await fetchWorker(`/v1/trending?k=3&category=${cat}`)).json<any>();
    expect(inCat.items.length).toBeGreaterThan(0);
    expect(inCat.items.every((i: any) => i.category === cat)).toBe(true);
    expect(ids(inCat)[0]).toBe(trending.slice(1).find((id) => categoryOf.get(id) === cat));
  });

  it('rejects a bad k with 400', async () => {
    expect((await fetchWorker('/v1/trending?k=many')).status).toBe(400);
  });
});

describe('POST /v1/recommendations/batch', () => {
  it('answers every slot of the page, in order', async () => {
    const cat = catalog[0].category;
    const res = await post('/v1/recommendations/batch', { session_id: 'batch-1', requests: [{ slot: 'hero', k: 2 }, { slot: 'recs', k: 4, category: [cat] }, { slot: 'pdp', k: 3, item_id: catalog[0].item_id }] });
    expect(res.status).toBe(200);
    const { results } = await res.json<any>();
    expect(results.map((r: any) => [r.slot, r.items.length])).toEqual([['hero', 2], ['recs', 4], ['pdp', 3]]);
    expect(results[1].items.every((i: any) => i.category === cat)).toBe(true);
  });

  it('rejects more than 10 slots and says which slot is wrong', async () => {
    expect((await post('/v1/recommendations/batch', { requests: Array.from({ length: 11 }, () => ({ slot: 's' })) })).status).toBe(400);
    const bad = await post('/v1/recommendations/batch', { requests: [{ slot: 'a' }, { slot: 'b', k: 0 }] });
    expect(bad.status).toBe(400);
    expect((await bad.json<any>()).error.issues[0].field).toBe('requests.1.k');
  });
});
