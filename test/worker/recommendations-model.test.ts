import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminJson, event, postEvents, recommendations, seedCatalog, token } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { call } from './ops-helpers';

const { onnx, manifest, catalog } = demoModel();
const categories = [...new Set(catalog.map((i: any) => i.category))] as string[];
const byCategory = (c: string) => catalog.filter((i: any) => i.category === c);

beforeAll(async () => {
  await seedCatalog(catalog);
  await registerModel('v1', onnx, manifest);
  expect((await activate('v1')).status).toBe(200);
});

function share(items: any[], category: string): number {
  return items.filter((i) => i.category === category).length / items.length;
}

describe('recommendations from the ONNX model', () => {
  it('are served by the active model, with Server-Timing', async () => {
    const r = await recommendations({ slot: 'home', session_id: 'fresh-1', k: 10 });
    expect(r.status).toBe(200);
    expect(r.body.fallback).toBe(false);
    expect(r.body.strategy).toBe('model');
    expect(r.body.model_version).toBe('v1');
    expect(r.body.items).toHaveLength(10);
    expect(r.body.recommendation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('server-timing')).toMatch(/inference;dur=.*total;dur=/);
  });

  it('after a session views several items of one category, that category rises', async () => {
    // The category least present in the cold list is the hardest one to make rise.
    const cold = await recommendations({ slot: 'home', session_id: 'browser-1', k: 10 });
    const target = categories.map((c) => [c, share(cold.body.items, c)] as const).sort((a, b) => a[1] - b[1])[0]![0];
    const viewed = byCategory(target).slice(0, 6);
    const posted = await postEvents(viewed.map((i: any) => event('view', i.item_id, 'browser-1')));
    expect(posted.body.accepted).toBe(6);
    const warm = await recommendations({ slot: 'home', session_id: 'browser-1', k: 10 });
    expect(share(warm.body.items, target)).toBeGreaterThan(share(cold.body.items, target));
    expect(share(warm.body.items, target)).toBeGreaterThanOrEqual(0.5);
    expect(warm.body.items.map((i: any) => i.item_id)).not.toEqual(cold.body.items.map((i: any) => i.item_id));
    expect(warm.body.items.some((i: any) => /^Because you viewed /.test(i.reason))).toBe(true);
  });

  it("a fresh isolate's first model answers, from the few items they touch read from D1, equal the loaded catalog's", async () => {
    const viewed = byCategory(categories[1]!).slice(0, 4);
    await postEvents(viewed.map((i: any) => event('view', i.item_id, 'cold-isolate')));
    expect((await adminJson('/v1/admin/catalog/snapshot', 'POST')).status).toBe(200); // what a fresh isolate loads
    // A D1 binding object of its own: the worker keeps a separate catalog for it, like a fresh isolate.
    const db = { prepare: (q: string) => env.DB.prepare(q), batch: (s: D1PreparedStatement[]) => env.DB.batch(s), exec: (q: string) => env.DB.exec(q) } as unknown as D1Database;
    const queries = ['slot=home&k=10&session_id=cold-isolate', `slot=pdp&k=6&item_id=${viewed[0]!.item_id}`, `slot=cat&k=5&session_id=cold-isolate&category=${categories[2]}`];
    const answer = async (q: string) => {
      const res = await call(`/v1/recommendations?${q}`, undefined, { DB: db, CATALOG_COLD_BYTES: '0' });
      const body = (await res.json()) as any;
      expect(body.strategy).toBe('model');
      return { ids: body.items.map((i: any) => i.item_id), partial: /catalog-partial/.test(res.headers.get('server-timing') ?? '') };
    };
    const cold = await Promise.all(queries.map(answer));
    const warm = await Promise.all(queries.map(answer));
    expect([cold.map((a) => a.partial), warm.map((a) => a.partial)]).toEqual([
      [true, true, true],
      [false, false, false],
    ]);
    expect(cold.map((a) => a.ids)).toEqual(warm.map((a) => a.ids));
    expect(cold[0]!.ids).toHaveLength(10);
  });

  it('excludes items the shopper already bought, also in a later session', async () => {
    const user_token = await token('user-42');
    const first = await recommendations({ slot: 'home', session_id: 'shopper-a', user_token, k: 10 });
    const bought = first.body.items[0].item_id;
    await postEvents([event('purchase', bought, 'shopper-a', { user_token, value: 20 })]);
    const again = await recommendations({ slot: 'home', session_id: 'shopper-a', user_token, k: 10 });
    expect(again.body.items.map((i: any) => i.item_id)).not.toContain(bought);
  });

  it('gives an unknown shopper a sensible cold-start list', async () => {
    const r = await recommendations({ slot: 'home', user_id: 'never-seen-user', k: 10 });
    expect(r.body.fallback).toBe(false);
    const ids = r.body.items.map((i: any) => i.item_id);
    expect(new Set(ids).size).toBe(10);
    expect(r.body.items.every((i: any) => i.in_stock)).toBe(true);
    // Popular items: most of the list comes from the top fifth of the catalog by popularity.
    const top = new Set(
      [...catalog]
        .sort((a: any, b: any) => b.popularity - a.popularity)
        .slice(0, Math.ceil(catalog.length / 5))
        .map((i: any) => i.item_id),
    );
    expect(ids.filter((id: string) => top.has(id)).length).toBeGreaterThanOrEqual(6);
  });

  it('similar items on a product page come from the product context', async () => {
    const product = byCategory(categories[0]!)[3];
    const r = await recommendations({ slot: 'pdp', item_id: product.item_id, k: 6 });
    expect(r.body.items.map((i: any) => i.item_id)).not.toContain(product.item_id);
    expect(share(r.body.items, product.category)).toBeGreaterThanOrEqual(0.5);
  });

  it('honours filters on the model path', async () => {
    const r = await recommendations({ slot: 'home', category: categories[1]!, k: 5 });
    expect(r.body.fallback).toBe(false);
    expect(r.body.items.every((i: any) => i.category === categories[1])).toBe(true);
  });
});

describe('filters on the model path', () => {
  it('return exactly the items that pass category, brand and price filters, also when a filter repeats with other exclusions', async () => {
    const cats = categories.slice(0, 2);
    const brands = [...new Set(catalog.filter((i: any) => cats.includes(i.category) && i.brand).map((i: any) => i.brand as string))].slice(0, 3);
    const pool = catalog.filter((i: any) => cats.includes(i.category) && brands.includes(i.brand) && i.price !== null).sort((a: any, b: any) => a.price - b.price);
    // a price window holding at most 40 of them, so k = 100 returns every eligible item
    const lo = pool[Math.floor(pool.length / 4)].price as number;
    const hi = pool[Math.min(pool.length - 1, Math.floor(pool.length / 4) + 39)].price as number;
    const eligible = pool.filter((i: any) => i.price >= lo && i.price <= hi && i.in_stock !== false).map((i: any) => i.item_id as string);
    expect(eligible.length).toBeGreaterThan(1);
    const ask = async (extra: Record<string, string> = {}) => {
      const r = await recommendations({ slot: 'home', category: cats.join(','), brand: brands.join(','), price_min: lo, price_max: hi, k: 100, ...extra });
      expect(r.status).toBe(200);
      expect(r.body.strategy).toBe('model');
      return r.body.items.map((i: any) => i.item_id as string).sort();
    };
    expect(await ask()).toEqual([...eligible].sort());
    expect(await ask({ exclude: eligible[0]! })).toEqual(eligible.slice(1).sort());
    expect(await ask()).toEqual([...eligible].sort());
  });
});

describe('model versions', () => {
  it('keeps serving the old model when a new one fails its checksum, then picks up a good one without a redeploy, and rolls back', async () => {
    await registerModel('v2-corrupt', onnx, manifest, { registrySha: '0'.repeat(64) });
    expect((await activate('v2-corrupt')).status).toBe(200);
    const stillOld = await recommendations({ slot: 'home', k: 3 });
    expect(stillOld.body.model_version).toBe('v1');
    expect(stillOld.body.fallback).toBe(false);
    const health = (await (await adminJson('/v1/admin/health', 'GET')).json()) as any;
    expect(health.status).toBe('degraded');
    expect(health.model.lastError).toMatch(/checksum mismatch/);

    await registerModel('v3', onnx, manifest);
    expect((await activate('v3')).status).toBe(200);
    expect((await recommendations({ slot: 'home', k: 3 })).body.model_version).toBe('v3');

    const rb = await adminJson('/v1/admin/models/rollback', 'POST');
    expect(rb.status).toBe(200);
    expect(((await rb.json()) as any).version).toBe('v2-corrupt');
    // v2-corrupt still cannot load, so v3 keeps serving rather than an error or a fallback.
    expect((await recommendations({ slot: 'home', k: 3 })).body.model_version).toBe('v3');

    const list = (await (await adminJson('/v1/admin/models', 'GET')).json()) as any;
    expect(list.models.map((m: any) => m.version).sort()).toEqual(['v1', 'v2-corrupt', 'v3']);
  });

  it('a half-published version (a neighbour shard missing or the manifest not matching the registry) is never served', async () => {
    const before = (await recommendations({ slot: 'home', k: 3 })).body.model_version;
    await registerModel('half-1', onnx, manifest, { omit: ['neighbours/0.bin'] });
    expect((await activate('half-1')).status).toBe(200);
    const r1 = await recommendations({ slot: 'home', k: 3 });
    expect(r1.body.model_version).toBe(before);
    const health = (await (await adminJson('/v1/admin/health', 'GET')).json()) as any;
    expect(health.model.lastError).toMatch(/half-1 is incompletely published: neighbour shard 0 is missing/);
    // The same files complete: now it serves.
    await env.MODELS.put('models/half-1/neighbours/0.bin', demoModel().files['neighbours/0.bin']!);
    await adminJson('/v1/admin/models/half-1/activate', 'POST');
    expect((await recommendations({ slot: 'home', k: 3 })).body.model_version).toBe('half-1');
  });

  it('activating an unknown version is a 404 with a JSON error', async () => {
    const res = await activate('does-not-exist');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toMatch(/does-not-exist/);
  });
});
