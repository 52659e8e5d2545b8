/**
 * The shared edge cache in front of the storefront (worker/rewrite/origin.ts) follows RFC 9111:
 * a page fetched with credentials is never handed to someone else, a Vary the cache cannot honour
 * keeps a page out of it, headers that re-route a request never reach the origin, and nobody but
 * an operator learns what the cache holds.
 */
import { describe, expect, it } from 'vitest';
import { call } from './ops-helpers';
import { originLog, originPage, page, storePage } from './rewrite-helpers';

const html = (cc: string, extra: [string, string][] = []) => ({ headers: [['content-type', 'text/html'], ['cache-control', cc], ...extra] as [string, string][], chunks: [storePage('<p>Hello Alice, your orders: #123</p>')] });

describe('the shared edge cache and credentials', () => {
  it('a page fetched with Authorization is not served to the next request without it', async () => {
    await originPage('/account', html('max-age=60'));
    await page('/account', { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    await page('/account');
    // The stranger's request went to the origin: nothing of Alice's came out of the cache.
    expect((await originLog('/account')).length).toBe(2);
  });

  it("a page fetched with the shop's own session cookie is not stored; the worker's cookies alone do not count", async () => {
    await originPage('/orders', html('max-age=60'));
    await page('/orders', { cookies: { shop_session: 'alice-session' } });
    await page('/orders');
    expect((await originLog('/orders')).length).toBe(2);
    // Only the worker's own cookies (a consenting shopper's page): the page is shared as before.
    await originPage('/catalog-page', html('max-age=60'));
    const first = await page('/catalog-page', { cookies: { p13n_consent: 'granted' } });
    const own = Object.fromEntries(first.res.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=') as [string, string]));
    expect(Object.keys(own)).toContain('p13n_sid');
    await page('/catalog-page', { cookies: { p13n_consent: 'granted', ...own } });
    expect((await originLog('/catalog-page')).length).toBe(1);
  });

  it('a credentialed response the origin marks public is shared; a credentialed request never reads the cache', async () => {
    await originPage('/news', html('public, max-age=60'));
    await page('/news', { headers: { authorization: 'Bearer abc' } });
    await page('/news');
    expect((await originLog('/news')).length).toBe(1);
    await page('/news', { cookies: { shop_session: 'bob' } });
    expect((await originLog('/news')).length).toBe(2);
  });

  it('a page that varies on anything but Accept-Encoding is never stored', async () => {
    await originPage('/localized', html('public, max-age=60', [['vary', 'Accept-Language']]));
    await page('/localized', { headers: { 'accept-language': 'de' } });
    await page('/localized', { headers: { 'accept-language': 'fr' } });
    expect((await originLog('/localized')).length).toBe(2);
  });
});

describe('what reaches the origin', () => {
  it('override headers are stripped, and the client IP arrives one way: the one Cloudflare saw', async () => {
    await originPage('/forwarded', html('no-store'));
    await page('/forwarded', {
      headers: {
        forwarded: 'for=1.2.3.4;host=evil.test',
        'x-original-url': '/admin',
        'x-rewrite-url': '/admin',
        'x-http-method-override': 'DELETE',
        'x-forwarded-host': 'evil.test',
        'x-forwarded-for': '198.51.100.66',
        'cf-connecting-ip': '203.0.113.7',
      },
    });
    const [seen] = await originLog('/forwarded');
    for (const h of ['forwarded', 'x-original-url', 'x-rewrite-url', 'x-http-method-override']) expect(seen!.headers[h], h).toBeUndefined();
    expect(seen!.headers['x-forwarded-host']).toBe('worker.test');
    // The client's own X-Forwarded-For is not passed on: the origin gets CF-Connecting-IP in it.
    expect(seen!.headers['x-forwarded-for']).toBe('203.0.113.7');
  });
});

describe('the cache status header', () => {
  it('is not sent to shoppers; operators turn it on with ORIGIN_CACHE_DEBUG', async () => {
    await originPage('/status', html('public, max-age=60'));
    const quiet = await call('/status', { headers: { accept: 'text/html' } });
    expect(quiet.headers.get('x-p13n-origin-cache')).toBeNull();
    const debug = await call('/status', { headers: { accept: 'text/html' } }, { ORIGIN_CACHE_DEBUG: '1' });
    expect(debug.headers.get('x-p13n-origin-cache')).toBe('HIT');
  });
});
