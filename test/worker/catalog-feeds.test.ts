/**
 * Catalog feeds through the admin API (POST /v1/admin/catalog/import): each format with a bad row
 * reported where it is, the valid items served afterwards, and a full feed marking what it no longer
 * lists (kept, not served) under its guards. Real D1 and the real serving catalog.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { pullCatalogFeed } from '../../worker/catalog/feed-pull';
import { ADMIN, fetchWorker } from './helpers';

const json = async (res: Response) => (await res.json()) as any;
const importFeed = (body: string, query: string, type = 'text/plain') => fetchWorker(`/v1/admin/catalog/import?${query}`, { method: 'POST', headers: { ...ADMIN, 'content-type': type }, body });
const served = async (category: string, inStock = true) => {
  const res = await fetchWorker(`/v1/recommendations?slot=feeds&k=20&category=${encodeURIComponent(category)}&in_stock=${inStock}`);
  expect(res.status).toBe(200);
  return ((await json(res)).items as any[]).map((i) => i.item_id as string).sort();
};

const gmcItem = (id: string, category: string, price = '12.99 USD', availability = 'in stock') =>
  `<item>\n  <g:id>${id}</g:id>\n  <title>Item ${id}</title>\n  <link>https://shop.example/p/${id}</link>\n  <g:price>${price}</g:price>\n  <g:availability>${availability}</g:availability>\n  <g:product_type>${category}</g:product_type>\n</item>`;
const gmcFeed = (items: string[], end = '</channel>\n</rss>\n') => `<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n${items.join('\n')}\n${end}`;

describe('catalog feeds through the admin API', () => {
  it('a Merchant Center XML feed: the bad item is reported by its line, the others are served', async () => {
    // Items start on lines 4, 12 and 20; the second has a price Merchant Center would reject.
    const feed = gmcFeed([gmcItem('gmc-1', 'Feeds > XML'), gmcItem('gmc-2', 'Feeds > XML', 'twelve USD'), gmcItem('gmc-3', 'Feeds > XML', '7,50 EUR', 'out of stock')]);
    const res = await importFeed(feed, 'format=gmc', 'application/xml');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ format: 'gmc', syntax: 'xml', rows: 3, upserted: 2, rejected_count: 1, removal: null });
    expect(body.rejected).toEqual([{ line: 12, path: null, item_id: 'gmc-2', issues: [{ field: 'g:price', message: '"twelve USD" is not a price like "12.99 USD"' }] }]);
    expect(await served('Feeds > XML')).toEqual(['gmc-1']);
    expect(await served('Feeds > XML', false)).toEqual(['gmc-1', 'gmc-3']);
  });

  it('CSV (line of the row) and Shopify products.json (index path), formats recognised from the body', async () => {
    const csv = 'item_id,title,category,price,tags,in_stock\ncsv-1,Mug,feeds-csv,9.5,kitchen|gift,true\ncsv-2,"Tea\npot",feeds-csv,abc,,true\n,No id,feeds-csv,1,,\ncsv-3,Plate,feeds-csv,4,,yes\n';
    const c = await json(await importFeed(csv, ''));
    expect(c).toMatchObject({ format: 'csv', rows: 4, upserted: 2 });
    expect(c.rejected.map((r: any) => [r.line, r.issues[0].field])).toEqual([
      [3, 'price'],
      [5, 'item_id'],
    ]);

    const shopify = JSON.stringify({
      products: [
        { id: 101, title: 'Boot', handle: 'boot', vendor: 'Acme', product_type: 'feeds-shopify', tags: 'winter, sale', status: 'active', variants: [{ price: '80.00', available: true }, { price: '75.00', compare_at_price: '90.00', available: false }] },
        { id: 102, title: 'Sock', handle: 'sock', product_type: 'feeds-shopify', variants: [{ price: 'free' }] },
        { id: 103, title: 'Hat', handle: 'hat', product_type: 'feeds-shopify', status: 'archived', variants: [{ price: '20.00', available: true }] },
      ],
    });
    const s = await json(await importFeed(shopify, '', 'application/json'));
    expect(s).toMatchObject({ format: 'shopify', rows: 3, upserted: 2, rejected: [{ line: null, path: 'products[1]', item_id: '102', issues: [{ field: 'products[1].variants[0].price' }] }] });
    const rec = await json(await fetchWorker('/v1/recommendations?slot=feeds&k=5&category=feeds-shopify'));
    // One item per product: the lowest variant price, its handle as the link; the archived product is not shown.
    expect(rec.items.map((i: any) => [i.item_id, i.price, i.url])).toEqual([['101', 75, '/products/boot']]);
    expect(await served('feeds-csv')).toEqual(['csv-1', 'csv-3']);
  });

  it('a feed that cannot be read, or with only bad rows, is a 400 naming the line; strict writes nothing', async () => {
    const broken = await importFeed('item_id,title\n"x,unclosed\n', 'format=csv');
    expect(broken.status).toBe(400);
    expect((await json(broken)).error.code).toBe('invalid_feed');
    const bad = await json(await importFeed(gmcFeed([gmcItem('strict-1', 'feeds-strict'), gmcItem('strict-2', 'feeds-strict', '-')]), 'strict=true'));
    expect(bad.error).toMatchObject({ code: 'invalid_rows', issues: [{ field: 'line 12: g:price' }] });
    expect(await served('feeds-strict', false)).toEqual([]);
    const query = await fetchWorker('/v1/admin/catalog/import?format=xml', { method: 'POST', headers: ADMIN, body: 'x' });
    expect(query.status).toBe(400);
    expect((await json(query)).error.issues[0].field).toBe('format');
  });

  it('a full feed marks the items it no longer lists (kept, not served) unless it was cut off or would empty the catalog', async () => {
    const ids = ['full-1', 'full-2', 'full-3', 'full-4'];
    const first = await json(await importFeed(gmcFeed(ids.map((id) => gmcItem(id, 'feeds-full'))), 'full=true&max_removed_share=1'));
    expect(first.upserted).toBe(4);
    // full-3 has a bad row: still listed, so kept; full-4 is gone from the feed.
    const next = gmcFeed([gmcItem('full-1', 'feeds-full'), gmcItem('full-2', 'feeds-full'), gmcItem('full-3', 'feeds-full', 'n/a')]);
    // The guard: a full feed listing 1 of the 4 (a truncated export?) may not mark more than 20% of the catalog.
    const guarded = await json(await importFeed(gmcFeed([gmcItem('full-1', 'feeds-full')]), 'full=true&max_removed_share=0.2'));
    expect(guarded.removal.removed).toBe(0);
    expect(guarded.removal.refused).toMatch(/nothing marked/);
    expect(await served('feeds-full')).toEqual(ids);

    const cut = await json(await importFeed(gmcFeed([gmcItem('full-1', 'feeds-full')], '<item><g:id>full-9'), 'full=true&max_removed_share=1'));
    expect(cut.removal).toMatchObject({ removed: 0, refused: expect.stringMatching(/cut off/) });
    expect(cut.rejected[0]).toMatchObject({ line: 12, item_id: 'full-9' });
    expect(await served('feeds-full')).toEqual(ids);

    const full = await json(await importFeed(next, 'full=true&max_removed_share=1'));
    expect(full.removal.refused).toBeNull();
    expect(await served('feeds-full')).toEqual(['full-1', 'full-2', 'full-3']);
    // Marked, not deleted: still in the catalog as out of stock, and back once a feed lists it again.
    expect(await served('feeds-full', false)).toEqual(ids);
    await importFeed(gmcFeed([gmcItem('full-4', 'feeds-full')]), '');
    expect(await served('feeds-full')).toEqual(ids);
  });

  it('a chunked full import (the CLI): upserts, then removals from the first chunk\'s written_at', async () => {
    const item = (id: string) => ({ item_id: id, title: id, category: 'feeds-chunks' });
    const upsert = async (ids: string[]) => json(await fetchWorker('/v1/admin/catalog', { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(ids.map(item)) }));
    await upsert(['chunk-old', 'chunk-bad']);
    // Written by an earlier import, more than the clock margin (a minute) ago.
    await env.DB.prepare("UPDATE items SET updated_at = updated_at - 120000 WHERE id IN ('chunk-old', 'chunk-bad')").run();
    const first = await upsert(['chunk-1']);
    await upsert(['chunk-2']);
    const removals = (body: unknown) => fetchWorker('/v1/admin/catalog/removals', { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await removals({ since: first.written_at + 3_600_000 })).status).toBe(400);
    const r = await removals({ since: first.written_at, listed: ['chunk-bad'], max_removed_share: 1 });
    expect(r.status).toBe(200);
    expect((await json(r)).removed).toBeGreaterThanOrEqual(1);
    expect(await served('feeds-chunks')).toEqual(['chunk-1', 'chunk-2', 'chunk-bad']);
    expect(await served('feeds-chunks', false)).toEqual(['chunk-1', 'chunk-2', 'chunk-bad', 'chunk-old']);
  });

  it('the scheduled pull of CATALOG_FEED_URL imports the feed in steps and removes its stored copy', async () => {
    // The feed is served by the test origin (real HTTP, vitest.config.ts outboundService).
    const tsv = ['id\ttitle\tprice\tavailability\tproduct_type', 'pull-1\tKettle\t30.00 USD\tin stock\tfeeds-pull', 'pull-2\tToaster\t45.00 USD\tin stock\tfeeds-pull', 'pull-3\tBad\tfree\tin stock\tfeeds-pull'].join('\n');
    await fetch('http://origin.test/__origin/pages', { method: 'POST', body: JSON.stringify({ path: '/feeds/catalog.tsv', headers: [['content-type', 'text/tab-separated-values']], chunks: [tsv] }) });
    // The maintenance workflow's steps, run in order (the workflow itself is covered by test/worker/ops.test.ts).
    const steps: string[] = [];
    const step = { do: async (name: string, fn: () => Promise<unknown>) => (steps.push(name), fn()) } as any;
    const out = await pullCatalogFeed({ ...env, CATALOG_FEED_URL: 'http://origin.test/feeds/catalog.tsv', CATALOG_FEED_FORMAT: '', CATALOG_FEED_FULL: '0' }, step, Date.now());
    expect(out).toMatchObject({ format: 'gmc', rows: 3, upserted: 2, rejected: 1, first_rejected: [{ line: 4, item_id: 'pull-3' }], removal: null });
    expect(steps).toEqual(['feed fetch', 'feed upsert 1', 'feed cleanup']);
    expect(await served('feeds-pull')).toEqual(['pull-1', 'pull-2']);
    expect((await env.MODELS.list({ prefix: 'catalog/feeds/' })).objects).toEqual([]);
  });
});
