import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminJson, event, fetchWorker, fixtureCatalog, logEvents, postEvents, recommendations, seedCatalog, waitForLog } from './helpers';

// No model is registered in this file: every answer must come from the popularity fallback.
beforeAll(() => seedCatalog());

describe('event ingestion', () => {
  it('a retried batch is counted once', async () => {
    const batch = [event('view', 'skincare-1', 'retry-s'), event('click', 'skincare-2', 'retry-s'), event('purchase', 'skincare-3', 'retry-s', { value: 12.5 })];
    const first = await postEvents(batch);
    expect(first.body).toEqual({ accepted: 3, duplicates: 0, rejected: [], warnings: [], consent: 'full', not_stored: 0, session_stamp: expect.any(Number) });
    const again = await postEvents(batch);
    expect(again.body).toEqual({ accepted: 0, duplicates: 3, rejected: [], warnings: [], consent: 'full', not_stored: 0, session_stamp: expect.any(Number) });
    const ids = batch.map((e) => e.event_id);
    const log = await waitForLog(ids);
    expect(log.filter((r) => ids.includes(r.event_id))).toHaveLength(3);
  });

  it('the same event twice inside one batch is stored once', async () => {
    const e = event('view', 'makeup-1', 'dup-s');
    const r = await postEvents([e, e]);
    expect(r.body.accepted).toBe(1);
    expect(r.body.duplicates).toBe(1);
  });

  it('stores no raw shopper or session identifier', async () => {
    const e = event('view', 'makeup-2', 'raw-session-id-123', { user_id: 'alice@example.com' });
    await postEvents([e]);
    await waitForLog([e.event_id]);
    const dump = JSON.stringify(await logEvents());
    expect(dump).toContain(e.event_id);
    expect(dump).not.toContain('alice@example.com');
    expect(dump).not.toContain('raw-session-id-123');
  });
});

describe('fallback without a model', () => {
  it('answers a popularity list flagged as a fallback, never an error', async () => {
    const r = await recommendations({ slot: 'home', session_id: 'nobody-yet', k: 5 });
    expect(r.status).toBe(200);
    expect(r.body.fallback).toBe(true);
    expect(r.body.model_version).toBeNull();
    expect(r.body.strategy).toBe('popular');
    const popular = fixtureCatalog()
      .sort((a, b) => b.popularity - a.popularity)
      .slice(0, 5)
      .map((i) => i.item_id);
    expect(r.body.items.map((i: any) => i.item_id)).toEqual(popular);
    expect(r.headers.get('server-timing')).toMatch(/total;dur=/);
    expect(r.headers.get('cache-control')).toContain('private');
  });

  it('shapes the popular list by what the session already shows', async () => {
    await postEvents(['fragrance-10', 'fragrance-11', 'fragrance-12'].map((id) => event('view', id, 'fragrance-fan')));
    const r = await recommendations({ slot: 'home', session_id: 'fragrance-fan', k: 5 });
    expect(r.body.fallback).toBe(true);
    expect(r.body.items.every((i: any) => i.category === 'fragrance')).toBe(true);
    expect(r.body.items[0].reason).toMatch(/Because you viewed fragrance product/);
  });

  it('applies filters: category, price range, exclusions, in-stock', async () => {
    await adminJson('/v1/admin/catalog/makeup-0', 'PATCH', { in_stock: false });
    const r = await recommendations({ slot: 'home', category: 'makeup', price_max: 10, exclude: 'makeup-1', k: 10 });
    const ids = r.body.items.map((i: any) => i.item_id);
    expect(ids).toEqual(['makeup-2', 'makeup-3', 'makeup-4', 'makeup-5']);
  });

  it('excludes items the session already bought', async () => {
    await postEvents([event('purchase', 'skincare-0', 'buyer-s', { value: 5 })]);
    const r = await recommendations({ slot: 'home', session_id: 'buyer-s', k: 10 });
    expect(r.body.items.map((i: any) => i.item_id)).not.toContain('skincare-0');
    const withBought = await recommendations({ slot: 'home', session_id: 'buyer-s', k: 10, include_purchased: 'true' });
    expect(withBought.body.items.map((i: any) => i.item_id)).toContain('skincare-0');
  });
});

describe('merchandising rules per slot', () => {
  it('pins, buries and caps per category', async () => {
    const put = await adminJson('/v1/admin/slots/rules-slot', 'PUT', {
      rules: { pin: [{ item_id: 'haircare-20', position: 2 }], bury: [{ category: 'skincare' }], max_per_category: 2 },
    });
    expect(put.status).toBe(200);
    const r = await recommendations({ slot: 'rules-slot', k: 6 });
    const items = r.body.items as any[];
    expect(items[1].item_id).toBe('haircare-20');
    expect(items[1].pinned).toBe(true);
    expect(items.filter((i) => i.category === 'skincare')).toHaveLength(0);
    const perCat = new Map<string, number>();
    for (const i of items.filter((x) => !x.pinned)) perCat.set(i.category, (perCat.get(i.category) ?? 0) + 1);
    expect(Math.max(...perCat.values())).toBeLessThanOrEqual(2);
  });

  it('refuses catalog links that are not http(s) or site paths', async () => {
    const res = await adminJson('/v1/admin/catalog', 'POST', [{ item_id: 'js', title: 't', url: 'javascript:alert(1)' }]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).rejected[0].issues[0].field).toBe('url');
  });

  it('rejects a template that does not parse', async () => {
    const put = await adminJson('/v1/admin/slots/bad', 'PUT', { template: '{{#items}}<b>{{title}}</b>' });
    expect(put.status).toBe(400);
    expect(((await put.json()) as any).error.message).toMatch(/template/);
  });
});

describe('HTML blocks', () => {
  it('escapes every catalog value', async () => {
    await seedCatalog([
      {
        item_id: 'evil"><script>alert(1)</script>',
        title: '<script>alert("x")</script> & "quotes" \'single\'',
        category: 'zzz<img src=x onerror=alert(1)>',
        brand: 'b',
        price: 1,
        in_stock: true,
        popularity: 1e9,
        image_url: 'https://img.test/a.png" onerror="alert(1)',
      },
    ]);
    const res = await fetchWorker('/v1/blocks/home?k=3');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('onerror=alert');
    expect(html).toContain('src="https://img.test/a.png&quot; onerror&#61;&quot;alert(1)"');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;single&#39;');
    expect(html).toContain('href="/product/evil%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"');
  });

  it("renders prices and reasons in the slot's currency and locale; the API keeps English text next to the reason's code", async () => {
    const template = '{{#items}}<li data-id="{{item_id}}">{{price_label}}|{{reason}}</li>{{/items}}';
    expect((await adminJson('/v1/admin/slots/de-slot', 'PUT', { template, currency: 'EUR', locale: 'de-DE', rules: { pin: [{ item_id: 'makeup-4', position: 1 }] } })).status).toBe(200);
    expect((await adminJson('/v1/admin/slots/us-slot', 'PUT', { template })).status).toBe(200);
    expect((await adminJson('/v1/admin/slots/bad-locale', 'PUT', { locale: 'not a locale!' })).status).toBe(400);
    const api = await recommendations({ slot: 'de-slot', k: 2, category: 'makeup' });
    const [pinned, popular] = api.body.items as any[];
    expect([pinned.item_id, pinned.price]).toEqual(['makeup-4', 9]);
    expect(api.body.items.map((i: any) => [i.reason, i.reason_code, i.reason_params])).toEqual([
      ['Featured', 'featured', {}],
      ['Popular in makeup', 'popular_in_category', { category: 'makeup' }],
    ]);
    const de = await (await fetchWorker('/v1/blocks/de-slot?k=2&category=makeup')).text();
    expect(de).toBe(`<li data-id="makeup-4">9,00\u00a0€|Empfohlen</li><li data-id="${popular.item_id}">${popular.price},00\u00a0€|Beliebt in makeup</li>`);
    // A slot without its own settings renders with the environment's (USD, en-US).
    expect(await (await fetchWorker('/v1/blocks/us-slot?k=1&category=makeup')).text()).toBe(`<li data-id="${popular.item_id}">$${popular.price}.00|Popular in makeup</li>`);
  });
});
