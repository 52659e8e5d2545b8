/**
 * Fuzzing: random and malformed bodies, query strings, headers, identifiers and catalog data at
 * every public endpoint, the admin API (with and without the token) and the HTML rewriter.
 * Properties: never a 5xx; every 4xx is a JSON error that names the problem; no value from a
 * request or the catalog ever reaches HTML as markup (checked by parsing the output with
 * HTMLRewriter: only the template's own elements and attributes, only safe links).
 * Run counts are modest so the file stays fast inside workerd. Requests go to the worker's fetch
 * handler directly (ops-helpers' call): thousands of calls through the test harness's self
 * binding slow down with every call, which would measure the harness, not the worker.
 */
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, fixtureCatalog, seedCatalog } from './helpers';
import { call as fetchWorker } from './ops-helpers';
import { originPage, storePage } from './rewrite-helpers';

const RUNS = { numRuns: 100 };

/** Printable ASCII: what a header value carries (workerd warns about the rest). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
/** Strings a hostile client or catalog feed would try. */
const nasty = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    '<img src=x onerror=alert(1)>',
    'javascript:alert(1)',
    '{{title}}',
    '{{#items}}',
    '%00',
    '%E0%A4%A',
    '../../etc/passwd',
    'a'.repeat(600),
    '١٢٣',
    '__proto__',
    'constructor',
    'prototype',
    '😀'.repeat(70),
    'NaN',
    '-1',
    '1e309',
    '0x10',
    'true',
  ),
);
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nasty, fc.array(fc.dictionary(fc.constantFrom('event_id', 'type', 'item_id', 'session_id', 'user_id', 'timestamp', 'value', 'slot', 'recommendation_id', 'x'), fc.oneof(nasty, fc.jsonValue({ maxDepth: 1 }))), { maxLength: 5 }));
const bodyText = fc.oneof(
  jsonish.map((v) => JSON.stringify(v) ?? ''),
  fc.record({ events: jsonish }).map((v) => JSON.stringify(v)),
  nasty,
  fc.constantFrom('{', '{"events":', '[]', 'null', '{"events":[]}', '\u0000\u0001', '{"events":[{}]}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-ndjson', '', 'multipart/form-data', 'application/x-www-form-urlencoded');
const queryKeys = ['slot', 'session_id', 'user_id', 'user_token', 'k', 'item_id', 'category', 'brand', 'price_min', 'price_max', 'in_stock', 'exclude', 'include_purchased', 'device', 'hour', 'window_minutes', 'x'];
const query = fc.array(fc.tuple(fc.constantFrom(...queryKeys), nasty), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString());
/** Raw query strings, including broken percent-encoding that URLSearchParams would never produce. */
const rawQuery = fc.oneof(query, fc.constantFrom('slot=%E0%A4%A', 'slot=%', 'slot=home&k=%ZZ', '%%%', 'slot=home&&&k', 'slot[]=a&slot[]=b', 'slot=home&k=1&k=2'));
const headers = fc.record(
  {
    'content-type': contentType,
    accept: fc.oneof(headerText, fc.constantFrom('text/html', 'application/json', '*/*')),
    cookie: fc.oneof(headerText, fc.constantFrom('p13n_consent=granted', 'p13n_sid=%ZZ', 'p13n_sid=; p13n_consent=granted')),
    'x-request-id': headerText,
    'sec-gpc': fc.constantFrom('1', '0', 'yes', ''),
    'user-agent': headerText,
    'x-p13n-consent': headerText,
    authorization: headerText,
    origin: headerText,
  },
  { requiredKeys: [] },
);

/** The properties every answer must have; returns the parsed JSON body when there is one. */
async function expectSound(res: Response, what: string): Promise<any> {
  const text = await res.text();
  if (res.status >= 500) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)}`);
  expect(text, what).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
  if (!text) return text; // HEAD, 204
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), what).toContain('application/json');
    const body = JSON.parse(text);
    expect(typeof body.error.code, what).toBe('string');
    expect(body.error.message.length, what).toBeGreaterThan(0);
    return body;
  }
  return res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
}

const TEMPLATE_TAGS = new Set(['section', 'ul', 'li', 'a', 'img', 'span', 'small']);
const TEMPLATE_ATTRS = new Set(['class', 'href', 'src', 'alt', 'loading', 'width', 'height', 'data-p13n-rec', 'data-p13n-rendered', 'data-p13n-item-id', 'data-p13n-rank']);

/** Every element and attribute in `html` as a browser's parser sees it. */
async function parse(html: string): Promise<{ tag: string; attrs: [string, string][] }[]> {
  const out: { tag: string; attrs: [string, string][] }[] = [];
  await new HTMLRewriter()
    .on('*', { element: (el) => void out.push({ tag: el.tagName, attrs: [...el.attributes] as [string, string][] }) })
    .transform(new Response(html, { headers: { 'content-type': 'text/html' } }))
    .text();
  return out;
}

/** A rendered block holds only the template's markup: hostile values stayed text. */
async function expectOnlyTemplateMarkup(html: string, what: string): Promise<void> {
  for (const el of await parse(html)) {
    expect(TEMPLATE_TAGS.has(el.tag), `${what}: element <${el.tag}>`).toBe(true);
    for (const [name, value] of el.attrs) {
      expect(TEMPLATE_ATTRS.has(name), `${what}: attribute ${name} on <${el.tag}>`).toBe(true);
      if (name === 'href' || name === 'src') expect(value, `${what}: ${name}`).toMatch(/^(https?:\/\/|\/(?!\/)|$)/i);
    }
  }
}

/** Catalog items with hostile values; the schema rejects some, the rest must render safely. */
const hostileItem = fc.record({
  item_id: fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 20 })),
  title: nasty,
  category: fc.oneof(nasty, fc.constant(null)),
  brand: fc.oneof(nasty, fc.constant(null)),
  price: fc.oneof(fc.double({ noNaN: false }), fc.constant(null), fc.integer({ min: 0, max: 500 })),
  image_url: fc.oneof(nasty, fc.constantFrom('https://img.test/a.png" onerror="alert(1)', '//evil.test/x.png', '/img/ok.png', 'data:text/html,<script>')),
  url: fc.oneof(nasty, fc.constantFrom('/p/ok', 'javascript:alert(1)', 'https://shop.test/p?a="b"', ' /p/space')),
  tags: fc.array(nasty, { maxLength: 3 }),
  in_stock: fc.oneof(fc.boolean(), fc.constant('yes')),
  popularity: fc.oneof(fc.double(), fc.constant(1e12)),
});

beforeAll(() => seedCatalog());

describe('public endpoints never answer 5xx, and every 4xx names the problem', () => {
  it('POST /v1/events with random bodies, content types and headers', async () => {
    await fc.assert(
      fc.asyncProperty(bodyText, headers, async (body, h) => {
        const res = await fetchWorker('/v1/events', { method: 'POST', headers: h, body });
        const out = await expectSound(res, `events ${JSON.stringify(body).slice(0, 200)}`);
        if (res.status === 200) expect(out).toMatchObject({ accepted: expect.any(Number), duplicates: expect.any(Number), rejected: expect.any(Array) });
        for (const r of out?.rejected ?? []) expect(r.issues.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('POST /v1/events with well-formed batches of events whose identifiers and fields are random', async () => {
    const ev = fc.record(
      {
        event_id: fc.oneof(nasty, fc.uuid()),
        type: fc.oneof(fc.constantFrom('view', 'click', 'add_to_cart', 'purchase', 'impression'), nasty),
        item_id: fc.oneof(nasty, fc.constantFrom('skincare-1', 'makeup-2')),
        session_id: nasty,
        user_id: nasty,
        timestamp: fc.oneof(fc.integer(), fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'not a date' : d.toISOString())), nasty, fc.double()),
        value: fc.oneof(fc.double(), nasty),
        slot: nasty,
        recommendation_id: nasty,
      },
      { requiredKeys: ['event_id', 'type', 'item_id', 'session_id', 'timestamp'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(ev, { minLength: 1, maxLength: 8 }), async (events) => {
        const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
        const out = await expectSound(res, 'events batch');
        expect(res.status).toBe(200);
        // Every event is accounted for: stored, a duplicate, or rejected with a reason.
        expect(out.accepted + out.duplicates + out.rejected.length).toBe(events.length);
      }),
      RUNS,
    );
  });

  it('GET and POST /v1/recommendations with random query strings, bodies and headers', async () => {
    await fc.assert(
      fc.asyncProperty(rawQuery, bodyText, headers, async (q, body, h) => {
        const get = await fetchWorker(`/v1/recommendations?${q}`, { headers: h });
        const out = await expectSound(get, `GET ?${q}`);
        if (get.status === 200) expect(Array.isArray(out.items)).toBe(true);
        else expect(out.error.code).toBe('invalid_request');
        await expectSound(await fetchWorker('/v1/recommendations', { method: 'POST', headers: h, body }), `POST ${body.slice(0, 100)}`);
      }),
      RUNS,
    );
  });

  it('GET /v1/blocks/:slot with random slots and query strings: HTML with only the template markup, or a JSON 4xx', async () => {
    let rendered = 0;
    await fc.assert(
      fc.asyncProperty(nasty, rawQuery, async (slot, q) => {
        const res = await fetchWorker(`/v1/blocks/${encodeURIComponent(slot)}?${q}`);
        const out = await expectSound(res, `block ${slot} ?${q}`);
        if (res.status === 200) {
          expect(res.headers.get('content-type')).toContain('text/html');
          await expectOnlyTemplateMarkup(out, `block ${slot}`);
          rendered++;
        }
      }),
      RUNS,
    );
    expect(rendered).toBeGreaterThan(0);
  });

  it('/p13n.js, /openapi.json and /health answer 200 whatever the query and headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/p13n.js', '/openapi.json', '/health'), rawQuery, headers, fc.constantFrom('GET', 'HEAD'), async (path, q, h, method) => {
        const res = await fetchWorker(`${path}?${q}`, { method, headers: h });
        await expectSound(res, `${method} ${path}`);
        expect(res.status).toBe(200);
      }),
      { numRuns: 60 },
    );
  });

  it('unknown paths and methods under /v1 are JSON 404s (or 405s), never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 3 }), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), bodyText, async (segs, method, body) => {
        const path = `/v1/${segs.map(encodeURIComponent).join('/')}`;
        const res = await fetchWorker(path, { method, body: method === 'GET' ? undefined : body, headers: { 'content-type': 'application/json' } });
        await expectSound(res, `${method} ${path}`);
      }),
      { numRuns: 60 },
    );
  });
});

describe('admin endpoints', () => {
  const routes = async () => {
    const doc = (await (await fetchWorker('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method: method.toUpperCase() })));
  };

  it('refuse every call without a valid token with a JSON 401', async () => {
    const admin = (await routes()).filter((r) => r.path.startsWith('/v1/admin/'));
    expect(admin.length).toBeGreaterThan(15);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...admin), nasty, headerText, bodyText, async (r, param, auth, body) => {
        const path = r.path.replace(/\{[^}]+\}/g, encodeURIComponent(param) || 'x');
        const res = await fetchWorker(path, { method: r.method, headers: { authorization: auth, 'content-type': 'application/json' }, body: r.method === 'GET' ? undefined : body });
        const out = await expectSound(res, `${r.method} ${path}`);
        expect(res.status).toBe(401);
        expect(out.error.code).toBe('unauthorized');
      }),
      RUNS,
    );
  });

  it('with the token, random parameters and bodies are JSON 4xx at worst', async () => {
    // Keep the model registry and the catalog usable for the other properties in this file.
    const admin = (await routes()).filter((r) => r.path.startsWith('/v1/admin/') && !/activate|rollback|canary|\/catalog/.test(r.path));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...admin), nasty, bodyText, rawQuery, async (r, param, body, q) => {
        const path = `${r.path.replace(/\{[^}]+\}/g, encodeURIComponent(param) || 'x')}?${q}`;
        const res = await fetchWorker(path, { method: r.method, headers: { ...ADMIN, 'content-type': 'application/json' }, body: r.method === 'GET' ? undefined : body });
        await expectSound(res, `${r.method} ${path} ${body.slice(0, 100)}`);
      }),
      RUNS,
    );
  });

  it('catalog upserts of hostile items: JSON answers, and whatever was stored renders as text, never markup', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileItem, { minLength: 1, maxLength: 4 }), fc.boolean(), async (items, ndjson) => {
        const body = ndjson ? items.map((i) => JSON.stringify(i)).join('\n') : JSON.stringify(items);
        const res = await fetchWorker('/v1/admin/catalog', { method: 'POST', headers: { ...ADMIN, 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' }, body });
        const out = await expectSound(res, 'catalog upsert');
        if (res.status === 200) expect(out.upserted + out.rejected.length).toBe(items.length);
        // Hostile items are the most popular ones, so they are the ones shown.
        const block = await fetchWorker('/v1/blocks/fuzz-home?k=8&in_stock=false');
        await expectOnlyTemplateMarkup(await expectSound(block, 'block after upsert'), 'block after upsert');
      }),
      { numRuns: 60 },
    );
  });
});

describe('the HTML rewriter', () => {
  it('fills slots with hostile attributes from a hostile catalog without ever emitting markup it did not mean to', async () => {
    // Each attribute is hostile, plausible or absent, so that some slots are valid and get filled.
    const attr = (...plausible: string[]) => fc.oneof(nasty, fc.constantFrom(...plausible));
    const slotAttr = fc.record(
      {
        slot: attr('home', 'pdp', 'fuzz-slot'),
        k: attr('1', '3', '8'),
        template: attr('home', 'other'),
        category: attr('makeup', 'skincare,haircare'),
        brand: attr('brand-0-1'),
        item: attr('makeup-3', 'skincare-1'),
        exclude: attr('makeup-1,makeup-2'),
        'price-min': attr('0', '5'),
        'price-max': attr('30', '100'),
        budget: attr('5000'),
      },
      { requiredKeys: ['slot'] },
    );
    // Attribute values as a storefront would write them (escaped), or raw and broken.
    const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    let n = 0;
    let filled = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(slotAttr, { minLength: 1, maxLength: 3 }), fc.boolean(), async (attrs, rawCatalogFirst) => {
        if (rawCatalogFirst) {
          await fetchWorker('/v1/admin/catalog', {
            method: 'POST',
            headers: { ...ADMIN, 'content-type': 'application/json' },
            body: JSON.stringify([{ item_id: `h-${n}"><b>`, title: '</div><script>x()</script>', category: 'makeup', brand: '" onclick="x', popularity: 1e9, url: '/p/"><i>', image_url: 'https://i.test/"onerror="x' }]),
          });
        }
        const slots = attrs
          .map((a) => `<div class="recs" ${Object.entries(a).map(([k, v]) => `data-p13n-${k}="${escapeAttr(v)}"`).join(' ')}><p class="fallback">fallback</p></div>`)
          .join('<hr>');
        const html = storePage(slots);
        const path = `/fuzz-page-${n++}`;
        await originPage(path, html);
        const res = await fetchWorker(path, { headers: { accept: 'text/html', cookie: 'p13n_consent=granted' } });
        expect(res.status).toBe(200);
        const out = await res.text();
        filled += (out.match(/data-p13n-state="filled"/g) ?? []).length;
        // The page is the origin's, plus only the template's markup inside the slots.
        const before = await parse(html);
        const after = await parse(out);
        const added = after.filter((el) => !before.some((b) => b.tag === el.tag && JSON.stringify(b.attrs) === JSON.stringify(el.attrs.filter(([k]) => !/^data-p13n-(state|rec|strategy)$/.test(k)))));
        for (const el of added) {
          expect(TEMPLATE_TAGS.has(el.tag), `element <${el.tag}> in ${out}`).toBe(true);
          for (const [name, value] of el.attrs) {
            expect(TEMPLATE_ATTRS.has(name), `attribute ${name} in ${out}`).toBe(true);
            if (name === 'href' || name === 'src') expect(value).toMatch(/^(https?:\/\/|\/(?!\/)|$)/i);
          }
        }
        expect(out.startsWith(html.slice(0, html.indexOf('<main>')))).toBe(true);
        expect(out.endsWith('</main><footer>© store</footer></body></html>')).toBe(true);
      }),
      { numRuns: 50 },
    );
    // Some slots were valid enough to be filled: the property checked real output.
    expect(filled).toBeGreaterThan(0);
  });
});

it('names like __proto__ are plain names: the metrics count a slot called "__proto__", and Object.prototype stays clean', async () => {
  // Found by the properties above: a slot named "__proto__" wrote the metrics object's counters
  // onto Object.prototype, after which every JSON answer with extra headers failed.
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  const count = async (slot: string) => {
    const res = await fetchWorker('/v1/admin/metrics', { headers: ADMIN });
    expect(res.status).toBe(200);
    const bySlot = ((await res.json()) as any).recommendations.by_slot;
    return (Object.getOwnPropertyDescriptor(bySlot, slot)?.value?.requests as number | undefined) ?? 0;
  };
  // The properties above may have named these slots too: their metrics points can still be on their way (waitUntil),
  // so the baseline is read once the counts have stopped moving.
  const settled = async (slot: string) => {
    let last = await count(slot);
    for (let same = 0; same < 3; ) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await count(slot);
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  };
  const [proto0, ctor0] = [await settled('__proto__'), await settled('constructor')];
  for (const slot of ['__proto__', 'constructor', 'prototype', 'toString']) {
    for (const path of [`/v1/recommendations?slot=${slot}&k=2`, `/v1/blocks/${slot}?k=2`]) expect((await fetchWorker(path)).status).toBe(200);
  }
  expect((await count('__proto__')) - proto0).toBe(2);
  expect((await count('constructor')) - ctor0).toBe(2);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  expect((await fetchWorker('/v1/admin/health', { headers: ADMIN })).status).toBe(200);
});

it('the fixture catalog is intact enough for the properties above to be meaningful', async () => {
  const res = await fetchWorker(`/v1/recommendations?slot=fuzz-check&k=5&category=${fixtureCatalog()[0]!.category}`);
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).items.length).toBe(5);
  expect(env.ADMIN_TOKEN.length).toBeGreaterThan(15);
});
