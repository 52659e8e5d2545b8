/**
 * Fail-open: whatever goes wrong on our side (model, storage, time), the shopper gets the
 * origin's page, with the slot's own fallback content. Real storage and real model loading:
 * the failures are produced by breaking them, not by replacing them.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminJson, seedCatalog } from './helpers';
import { registerModel } from './model-helpers';
import { originPage, page, slot, slots, storePage } from './rewrite-helpers';

const consent = { p13n_consent: 'granted' };

beforeAll(() => seedCatalog());

/** Changing the catalog drops this isolate's in-memory snapshot, so the next page must read D1 again. */
async function touchCatalog(): Promise<void> {
  const r = await adminJson('/v1/admin/catalog', 'POST', [{ item_id: `touch-${crypto.randomUUID()}`, title: 'touch', category: 'misc', popularity: 0 }]);
  expect(r.status).toBe(200);
}

describe('fail-open', () => {
  it('on a model that cannot be loaded, slots still fill from the popularity fallback and the page is intact', async () => {
    const garbage = crypto.getRandomValues(new Uint8Array(4096));
    await registerModel('broken-1', garbage, { files: {}, items: [], dims: { items: 0 } });
    expect((await adminJson('/v1/admin/models/broken-1/activate', 'POST')).status).toBe(200);
    const html = storePage('<h1>Home</h1>' + slot('home-recs', { k: 3 }) + '<p>after</p>');
    await originPage('/model-broken', html);
    // The first page after activation waits for the load attempt; either way the page is the origin's.
    const first = await page('/model-broken', { cookies: consent });
    expect(first.res.status).toBe(200);
    expect(first.html.replace(/<div class="recs"[\s\S]*<!--\/slot-->/, '')).toBe(html.replace(/<div class="recs"[\s\S]*<!--\/slot-->/, ''));
    const { res, html: out } = await page('/model-broken', { cookies: consent });
    expect(res.status).toBe(200);
    const s = slots(out).get('home-recs')!;
    expect(s.state).toBe('filled');
    expect(s.strategy).toBe('popular');
    expect(s.items).toHaveLength(3);
    expect(out.startsWith(html.split('<div class="recs"')[0]!)).toBe(true);
    expect(out.endsWith('<!--/slot--><p>after</p></main><footer>© store</footer></body></html>')).toBe(true);
    const health = (await (await adminJson('/v1/admin/health', 'GET')).json()) as any;
    expect(health.model.lastError).toMatch(/broken-1/);
  });

  it('on a storage error, the page is exactly what the origin sent', async () => {
    const html = storePage('<h1>Category</h1>' + slot('storage-slot', { k: 3, category: 'makeup' }) + slot('home-recs', { k: 2 }));
    await originPage('/storage-broken', html);
    await touchCatalog();
    await env.DB.exec('ALTER TABLE items RENAME TO items_unavailable');
    try {
      const { res, html: out } = await page('/storage-broken', { cookies: consent });
      expect(res.status).toBe(200);
      expect(out).toBe(html);
    } finally {
      await env.DB.exec('ALTER TABLE items_unavailable RENAME TO items');
    }
    // Once storage is back, the same page is personalized again.
    const again = slots((await page('/storage-broken', { cookies: consent })).html);
    expect(again.get('storage-slot')!.state).toBe('filled');
  });

  it('when the time budget runs out before the recommendation is ready, the fallback content stays', async () => {
    // Budget 0 for this slot: it is used only if ready when the page reaches it. Touching the
    // catalog forces a fresh D1 read, so it cannot be ready. (Local D1 runs on the same thread
    // as the worker, so "slow storage" cannot be staged with a long query: it would stall the timer too.)
    const html = storePage(slot('slow-slot', { k: 3, budget: 0 }) + '<p>rest of the page</p>');
    await originPage('/slow', html);
    await touchCatalog();
    const { res, html: out } = await page('/slow', { cookies: consent });
    expect(res.status).toBe(200);
    expect(out).toBe(html);
    // With the default budget the same slot fills.
    const filled = storePage(slot('slow-slot', { k: 3 }) + '<p>rest of the page</p>');
    await originPage('/slow', filled);
    expect(slots((await page('/slow', { cookies: consent })).html).get('slow-slot')!.state).toBe('filled');
  });
});
