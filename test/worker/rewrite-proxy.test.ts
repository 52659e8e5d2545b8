/**
 * The worker in front of a storefront origin (issue 4): pass-through of everything that is not
 * an HTML page, slot filling in streamed HTML, templates and escaping, edge caching.
 * The origin is a real HTTP server (test/worker/rewrite-origin.ts); storage and ranking are real.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { adminJson, fetchWorker, seedCatalog } from './helpers';
import { CONSENT, originLog, originPage, page, releaseOrigin, setCookies, slot, slots, storePage } from './rewrite-helpers';
import './rewrite-failopen.cases';

beforeAll(() => seedCatalog());

async function bytes(res: Response): Promise<number[]> {
  return [...new Uint8Array(await res.arrayBuffer())];
}

describe('pass-through', () => {
  it('returns non-HTML responses byte-for-byte, with status, headers and every cookie', async () => {
    const png = Uint8Array.from({ length: 2048 }, (_, i) => (i * 37 + 11) % 256);
    await originPage('/img/logo.png', {
      status: 200,
      headers: [
        ['content-type', 'image/png'],
        ['cache-control', 'public, max-age=86400'],
        ['x-origin-thing', 'kept'],
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; Path=/; HttpOnly'],
      ],
      base64: btoa(String.fromCharCode(...png)),
    });
    const res = await fetchWorker('/img/logo.png', { headers: { cookie: CONSENT.cookie } });
    expect(res.status).toBe(200);
    expect(await bytes(res)).toEqual([...png]);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(res.headers.get('x-origin-thing')).toBe('kept');
    expect(setCookies(res)).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('returns JSON, redirects and error pages untouched, even when they contain slot markup', async () => {
    const json = JSON.stringify({ html: '<div data-p13n-slot="x">keep</div>' });
    await originPage('/api/cart.json', { headers: [['content-type', 'application/json']], chunks: [json] });
    const j = await fetchWorker('/api/cart.json');
    expect(await j.text()).toBe(json);

    await originPage('/old', { status: 301, headers: [['location', '/new'], ['set-cookie', 'moved=1; Path=/'], ['content-type', 'text/html']], chunks: ['<a href="/new">moved</a>'] });
    // (redirect: 'manual' so that the test's own call into the worker does not follow it)
    const r = await fetchWorker('/old', { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/new');
    expect(setCookies(r)).toEqual(['moved=1; Path=/']);
    expect(await r.text()).toBe('<a href="/new">moved</a>');

    const errorPage = storePage(slot('home-recs'));
    await originPage('/broken', { status: 500, headers: [['content-type', 'text/html']], chunks: [errorPage] });
    const e = await fetchWorker('/broken', { headers: { cookie: CONSENT.cookie } });
    expect(e.status).toBe(500);
    expect(await e.text()).toBe(errorPage);
    expect(setCookies(e)).toEqual([]);
  });

  it('forwards method, body and the shopper cookies to the origin', async () => {
    await originPage('/cart/add', { status: 303, headers: [['location', '/cart']] });
    const res = await fetchWorker('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'cart=abc; p13n_consent=granted' },
      body: 'item=skincare-1&qty=2',
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const [seen] = await originLog('/cart/add');
    expect(seen!.method).toBe('POST');
    expect(seen!.body).toBe('item=skincare-1&qty=2');
    expect(seen!.headers.cookie).toBe('cart=abc; p13n_consent=granted');
  });

  it('unknown API routes still answer a JSON 404 instead of going to the origin', async () => {
    const res = await fetchWorker('/v1/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('not_found');
    expect(await originLog('/v1/nope')).toEqual([]);
  });
});

describe('slots in HTML pages', () => {
  it('fills every slot on the page and keeps everything around them as the origin sent it', async () => {
    const body =
      `<h1>Welcome</h1>` +
      slot('home-recs', { k: 4 }) +
      `<section><h2>Makeup</h2>` +
      slot('category-recs', { k: 3, category: 'makeup' }) +
      `</section><article data-product="haircare-3">` +
      slot('similar', { k: 5, item: 'haircare-3' }) +
      `</article>`;
    const html = storePage(body);
    await originPage('/three', html);
    const { res, html: out } = await page('/three', { cookies: { p13n_consent: 'granted' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const s = slots(out);
    expect([...s.keys()]).toEqual(['home-recs', 'category-recs', 'similar']);
    for (const v of s.values()) {
      expect(v.state).toBe('filled');
      expect(v.rec).toMatch(/^[0-9a-f-]{36}$/);
      expect(v.inner).toContain(`data-p13n-rec="${v.rec}"`);
      expect(v.inner).not.toContain("Editor's picks");
    }
    expect(new Set([...s.values()].map((v) => v.rec)).size).toBe(3);
    expect(s.get('home-recs')!.items).toHaveLength(4);
    expect(s.get('category-recs')!.items).toEqual(['makeup-0', 'makeup-1', 'makeup-2']);
    expect(s.get('similar')!.items).toHaveLength(5);
    expect(s.get('similar')!.items).not.toContain('haircare-3');
    // Product cards: links, prices, reasons.
    expect(s.get('category-recs')!.inner).toContain('<a href="/product/makeup-0">');
    expect(s.get('category-recs')!.inner).toMatch(/class="p13n-price">\$\d+\.\d\d</);
    expect(s.get('category-recs')!.inner).toMatch(/class="p13n-reason">[^<]+</);
    // Outside the slots the page is the origin's.
    const strip = (h: string) => h.replace(/<div class="recs" data-p13n-slot[\s\S]*?<\/div><!--\/slot-->/g, '[slot]');
    expect(strip(out)).toBe(strip(html));
  });

  it('sends the page before the first slot while the origin has not even sent the slot yet', async () => {
    const head = storePage('<h1>Streaming</h1><p>before the slot</p>').split('</main>')[0]!;
    const tail = slot('home-recs', { k: 3 }) + '</main><footer>end</footer></body></html>';
    await originPage('/stream', { chunks: [head, tail], hold: true });
    const res = await fetchWorker('/stream', { headers: { cookie: CONSENT.cookie } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let received = '';
    // The origin is holding the rest of its page: these bytes can only come from streaming.
    while (!received.includes('before the slot')) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      received += decoder.decode(value, { stream: true });
    }
    expect(received).not.toContain('data-p13n-slot');
    await releaseOrigin('/stream');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += decoder.decode(value, { stream: true });
    }
    expect(slots(received).get('home-recs')!.state).toBe('filled');
    expect(received.endsWith('<footer>end</footer></body></html>')).toBe(true);
  });

  it('keeps the fallback content when the slot markup asks for something invalid or nothing qualifies', async () => {
    const html = storePage(slot('bad-k', { k: 'lots' }) + slot('none-left', { category: 'no-such-category' }));
    await originPage('/invalid-slots', html);
    const { html: out } = await page('/invalid-slots', { cookies: { p13n_consent: 'granted' } });
    expect(out).toBe(html);
  });

  it("renders with the slot's template from D1, or a named one, and escapes what it inserts", async () => {
    const put = await adminJson('/v1/admin/slots/tpl-slot', 'PUT', {
      template: '<ol class="custom" data-p13n-rec="{{recommendation_id}}">{{#items}}<li data-p13n-item-id="{{item_id}}">{{title}} | {{reason}}</li>{{/items}}</ol>',
    });
    expect(put.status).toBe(200);
    const named = await adminJson('/v1/admin/slots/compact', 'PUT', { template: '<p class="compact">{{#items}}<b data-p13n-item-id="{{item_id}}">{{title}}</b>{{/items}}</p>' });
    expect(named.status).toBe(200);
    await originPage('/templates', storePage(slot('tpl-slot', { k: 2 }) + slot('other-slot', { k: 2, template: 'compact' }) + slot('default-slot', { k: 2 })));
    const s = slots((await page('/templates', { cookies: { p13n_consent: 'granted' } })).html);
    expect(s.get('tpl-slot')!.inner).toMatch(/^<ol class="custom" data-p13n-rec="[0-9a-f-]{36}"><li data-p13n-item-id="[^"]+">[^<]+ \| [^<]+<\/li>/);
    expect(s.get('other-slot')!.inner).toMatch(/^<p class="compact"><b data-p13n-item-id=/);
    expect(s.get('default-slot')!.inner).toMatch(/^<section class="p13n-block"/);
  });

  it('escapes hostile catalog values and hostile slot names in the injected markup', async () => {
    await seedCatalog([
      {
        item_id: 'x"><script>alert(1)</script>',
        title: '</a><script>steal()</script> "quoted" \'single\'',
        category: 'hostile',
        brand: '<b onmouseover=alert(1)>',
        price: 3,
        in_stock: true,
        popularity: 5,
        image_url: 'https://img.test/a.png" onerror="alert(2)',
      },
    ]);
    const name = `evil&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;`; // as written in the origin's HTML attribute
    await originPage('/hostile', storePage(slot('hostile-cat', { category: 'hostile' }) + `<div data-p13n-slot="${name}" data-p13n-category="hostile">fb</div>`));
    const { html } = await page('/hostile', { cookies: { p13n_consent: 'granted' } });
    expect(html).not.toMatch(/<script>/i);
    expect(html).not.toContain('onerror="alert');
    expect(html).not.toContain('<b onmouseover');
    expect(html).toContain('&lt;/a&gt;&lt;script&gt;steal()&lt;/script&gt; &quot;quoted&quot; &#39;single&#39;');
    expect(html).toContain('src="https://img.test/a.png&quot; onerror&#61;&quot;alert(2)"');
    expect(html).toContain('data-p13n-item-id="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    // The slot name reaches the template ({{slot}}) decoded, and leaves it escaped again.
    expect(html).toContain('data-p13n-rendered="evil&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
  });

  it('marks personalized pages private and drops the origin validators', async () => {
    await originPage('/private', {
      headers: [
        ['content-type', 'text/html; charset=utf-8'],
        ['cache-control', 'public, max-age=600'],
        ['etag', '"v1"'],
        ['set-cookie', 'origin_sess=1; Path=/'],
      ],
      chunks: [storePage(slot('home-recs'))],
    });
    const { res } = await page('/private', { cookies: { p13n_consent: 'granted' } });
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('etag')).toBeNull();
    const cookies = setCookies(res);
    expect(cookies[0]).toBe('origin_sess=1; Path=/');
    expect(cookies[1]).toMatch(/^p13n_sid=[A-Za-z0-9_-]{22}\.a\.[A-Za-z0-9_-]{22}; Path=\/; Max-Age=1800; SameSite=Lax; HttpOnly$/);
    expect(cookies[2]).toBe('p13n_on=1; Path=/; Max-Age=1800; SameSite=Lax');
  });
});

describe('edge cache for origin HTML', () => {
  it('caches shareable origin HTML once for every shopper and personalizes after the cache', async () => {
    await originPage('/cached', { headers: [['content-type', 'text/html'], ['cache-control', 'public, max-age=60']], chunks: [storePage(slot('home-recs', { k: 3 }))] });
    const a = await page('/cached', { cookies: { p13n_consent: 'granted' } });
    const b = await page('/cached', { cookies: { p13n_consent: 'granted' } });
    // One origin fetch for both shoppers: the second page came from the cache.
    expect((await originLog('/cached')).length).toBe(1);
    const [sa, sb] = [slots(a.html).get('home-recs')!, slots(b.html).get('home-recs')!];
    expect(sa.state).toBe('filled');
    expect(sb.state).toBe('filled');
    expect(sa.rec).not.toBe(sb.rec);
    expect(b.res.headers.get('cache-control')).toBe('private, no-store');
    // Each shopper got their own session cookie, not a cached one.
    expect(setCookies(a.res)[0]).not.toBe(setCookies(b.res)[0]);
  });

  it('does not cache pages the origin marks private, or that set cookies', async () => {
    await originPage('/not-shared', { headers: [['content-type', 'text/html'], ['cache-control', 'private, max-age=60']], chunks: [storePage('<p>mine</p>')] });
    await originPage('/sets-cookie', { headers: [['content-type', 'text/html'], ['cache-control', 'public, max-age=60'], ['set-cookie', 'x=1']], chunks: [storePage('<p>c</p>')] });
    for (const path of ['/not-shared', '/sets-cookie']) {
      await page(path);
      await page(path);
      expect((await originLog(path)).length).toBe(2);
    }
  });
});

describe('the storefront snippet', () => {
  it('is served small (under 3 KB gzip) as JavaScript', async () => {
    const res = await fetchWorker('/p13n.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    const gz = new Response(res.body!.pipeThrough(new CompressionStream('gzip')));
    expect((await gz.arrayBuffer()).byteLength).toBeLessThan(3 * 1024);
  });
});
