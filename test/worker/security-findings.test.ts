/**
 * The Medium and Low findings of issue 13, one test each, through the worker's own surfaces:
 * bounded work from invented slot names, logs without raw paths and always with the request id,
 * attribution bound to the session that got the recommendation, bounded purchase values,
 * the admin token before the admin body, links a browser would read as another site, and
 * shopper tokens kept out of URLs.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { opsStub } from '../../worker/ops/metrics';
import { getSlotConfig } from '../../worker/slots/config';
import { adminJson, event, fetchWorker, fixtureCatalog, postEvents, seedCatalog, token } from './helpers';
import { admin, call, captureLogs } from './ops-helpers';
import { originPage, slot, storePage } from './rewrite-helpers';

beforeAll(async () => {
  await seedCatalog([
    ...fixtureCatalog(),
    { item_id: 'evil-1', title: 'Backslash link', category: 'evil', brand: 'x', price: 1, tags: [], in_stock: true, popularity: 2, url: '/\\evil.example/phish', image_url: '/\t/evil.example/pixel.png' },
  ]);
});

describe('unbounded work from public input', () => {
  it('invented slot names answer the default config from one cached read of the configured slots', async () => {
    expect((await adminJson('/v1/admin/slots/configured-slot', 'PUT', { rules: { pin: [{ item_id: 'makeup-3', position: 1 }] } })).status).toBe(200);
    let queries = 0;
    const counted = new Proxy(env.DB, { get: (t, k) => (k === 'prepare' ? (...a: [string]) => (queries++, t.prepare(...a)) : Reflect.get(t, k, t)) }) as D1Database;
    for (let i = 0; i < 40; i++) expect((await getSlotConfig(counted, `invented-${i}`)).rules.pin).toEqual([]);
    expect((await getSlotConfig(counted, 'configured-slot')).rules.pin).toEqual([{ item_id: 'makeup-3', position: 1 }]);
    // One read for all of them (at most one more if the cache was already warm from another test).
    expect(queries).toBeLessThanOrEqual(1);
  });

  it('the metrics object keeps a bounded number of slot names; the rest count as "(other)"', async () => {
    const t = Date.now();
    const serve = (slot: string) => ({ kind: 'serve' as const, t, slot, model: null, arm: null, rollout: null, variant: null, fallback: true, error: false, topScore: null, categories: {} });
    await opsStub(env).record(Array.from({ length: 300 }, (_, i) => serve(`made-up-${i}`)));
    const bySlot = (await admin('/v1/admin/metrics')).body.recommendations.by_slot as Record<string, { requests: number }>;
    expect(Object.keys(bySlot).length).toBeLessThanOrEqual(201);
    const total = Object.entries(bySlot)
      .filter(([k]) => k.startsWith('made-up-') || k === '(other)')
      .reduce((n, [, v]) => n + v.requests, 0);
    expect(total).toBe(300);
    expect(bySlot['(other)']!.requests).toBeGreaterThanOrEqual(100);
  });
});

describe('logs', () => {
  it('name the route pattern, never the raw path, and every line carries the request id', async () => {
    const { result: res, lines, raw } = await captureLogs(() =>
      call('/account/reset/reset-token-8f3a9c', { headers: { accept: 'text/html', 'x-request-id': 'req-logs-test-0001' } }, { ORIGIN_URL: 'ftp://origin.invalid', ORIGIN_CACHE: '0' }),
    );
    expect(res.status).toBe(502);
    expect(raw.join('\n')).not.toContain('reset-token-8f3a9c');
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['origin_unreachable', 'request']));
    for (const l of lines) expect(l.request_id, JSON.stringify(l)).toBe('req-logs-test-0001');
    expect(lines.find((l) => l.msg === 'request')!.route).toBe('proxy');
    // Lines written while the page streams (a slot out of budget) carry it too.
    await originPage('/orders/123', storePage(slot('late-slot', { budget: 0 })));
    const streamed = await captureLogs(() => call('/orders/123', { headers: { accept: 'text/html', 'x-request-id': 'req-logs-test-0002' } }));
    expect(streamed.lines.map((l) => l.msg)).toContain('slot_fallback');
    for (const l of streamed.lines) expect(l.request_id, JSON.stringify(l)).toBe('req-logs-test-0002');
    expect(streamed.raw.join('\n')).not.toContain('/orders/123');
  });
});

describe('attribution', () => {
  it("only the session that received a recommendation can click or buy on it; purchase values are bounded; revenue sums cannot overflow", async () => {
    const started = await adminJson('/v1/admin/experiments', 'POST', { id: 'bind', slot: 'bind-slot', attribution_window_hours: 1, variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'popular' }] });
    expect(started.status).toBe(200);
    expect((await adminJson('/v1/admin/experiments/bind/start', 'POST')).status).toBe(200);
    const res = await call('/v1/recommendations?slot=bind-slot&session_id=bind-victim&k=3');
    const rec = (await res.json()) as { recommendation_id: string; items: { item_id: string }[] };
    const rid = rec.recommendation_id;
    const item = rec.items[0]!.item_id;
    const row = () => env.DB.prepare('SELECT clicked_at, converted_at FROM rec_served WHERE recommendation_id = ?').bind(rid).first<{ clicked_at: number | null; converted_at: number | null }>();

    // Someone else's session replays the recommendation id: nothing is attributed.
    await postEvents([event('click', item, 'bind-attacker', { recommendation_id: rid }), event('purchase', item, 'bind-attacker', { recommendation_id: rid, value: 500 })]);
    expect(await row()).toEqual({ clicked_at: null, converted_at: null });
    // The session it was served to: attributed.
    await postEvents([event('click', item, 'bind-victim', { recommendation_id: rid }), event('purchase', item, 'bind-victim', { recommendation_id: rid, value: 20 })]);
    const after = await row();
    expect(after!.clicked_at).not.toBeNull();
    expect(after!.converted_at).not.toBeNull();

    // A purchase value beyond MAX_EVENT_VALUE is refused with the field at fault.
    const huge = await postEvents([event('purchase', item, 'bind-victim', { recommendation_id: rid, value: 1e300 })], { settle: false });
    expect(huge.body.rejected[0].issues[0].field).toBe('events.0.value');
    // Rows stored before the bound existed (six of 1.7e308) no longer turn the revenue into 0.
    const stmt = env.DB.prepare('INSERT INTO rec_purchases (event_id, recommendation_id, value, ts) VALUES (?, ?, ?, ?)');
    await env.DB.batch(Array.from({ length: 6 }, (_, i) => stmt.bind(`legacy-huge-${i}`, rid, 1.7e308, Date.now())));
    const report = (await admin('/v1/admin/experiments/bind/report')).body;
    const revenue = report.variants.find((v: any) => v.name === (rec as any).variant).revenue;
    expect(Number.isFinite(revenue)).toBe(true);
    expect(revenue).toBeGreaterThan(20);
  });
});

describe('admin bodies', () => {
  it('are not read before the admin token is checked', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        if (pulled > 40) c.close();
        else c.enqueue(chunk);
      },
    });
    const res = await call('/v1/admin/catalog', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(401);
    // The stream's own first pull (it fills its queue once) at most: not 32 MiB read for a stranger.
    expect(pulled).toBeLessThanOrEqual(1);
  });
});

describe('rendered links', () => {
  it('refuse URLs a browser reads as another site, and templates cannot reach the raw url / image_url', async () => {
    const plain = await fetchWorker('/v1/blocks/evil-slot?category=evil&k=1');
    const html = await plain.text();
    expect(html).toContain('data-p13n-item-id="evil-1"');
    expect(html).not.toContain('evil.example');
    expect(html).toContain('href="/product/evil-1"');
    expect((await adminJson('/v1/admin/slots/raw-slot', 'PUT', { template: '{{#items}}<a href="{{url}}"><img src="{{image_url}}">{{title}}</a>{{/items}}' })).status).toBe(200);
    const raw = await (await fetchWorker('/v1/blocks/raw-slot?category=evil&k=1')).text();
    expect(raw).toContain('Backslash link');
    expect(raw).not.toContain('evil.example');
  });
});

describe('shopper tokens in URLs', () => {
  it('are refused with 400 on the GET routes; the header works', async () => {
    const t = await token('query-shopper');
    for (const [path, field] of [
      [`/v1/recommendations?slot=home&user_token=${t}`, 'user_token'],
      [`/v1/blocks/home?user_token=${t}`, 'user_token'],
      [`/v1/recommendations?slot=home&user_id=${t}`, 'user_id'],
    ]) {
      const res = await fetchWorker(path!);
      expect(res.status, path).toBe(400);
      const { error } = (await res.json()) as any;
      expect(error.code).toBe('invalid_request');
      expect(error.issues[0].field).toBe(field);
    }
    const ok = await fetchWorker('/v1/recommendations?slot=home', { headers: { 'x-p13n-user-token': t } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-p13n-identity')).toBe('user');
  });
});
