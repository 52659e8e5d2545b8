/**
 * The operator console (worker/console/): sign-in by token (signed, expiring session cookie),
 * forged and expired cookies refused, Cloudflare Access assertions verified against a JWKS, and
 * the KPI rollups the events consumer writes equal to the figures of the events sent.
 */
import { env } from 'cloudflare:workers';
import { Jwt } from 'hono/utils/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSession } from '../../worker/console/auth';
import { kpiReport } from '../../worker/console/kpi';
import { event, postEvents, seedCatalog, token } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { call } from './ops-helpers';
import { originPage } from './rewrite-helpers';

const ORIGIN = 'http://worker.test';
const form = (fields: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});
const withCookie = (value: string) => ({ headers: { cookie: `p13n_console=${value}` } });

beforeAll(async () => {
  await seedCatalog();
});

describe('console sign-in', () => {
  it('the admin token sets an HttpOnly, Secure, SameSite=Strict session cookie (not the token); a wrong token or another origin is refused', async () => {
    expect((await call('/console/kpis')).headers.get('location')).toBe('/console/login');

    const res = await call('/console/login', form({ token: env.ADMIN_TOKEN }));
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^p13n_console=[^;]+; Max-Age=28800; Path=\/console; HttpOnly; Secure; SameSite=Strict/);
    expect(cookie).not.toContain(env.ADMIN_TOKEN);
    const value = /^p13n_console=([^;]+)/.exec(cookie)![1]!;
    const page = await call('/console/kpis', withCookie(value));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    const wrong = await call('/console/login', form({ token: 'not-the-admin-token-at-all' }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await call('/console/login', form({ token: '' }))).status).toBe(400);
    // A login form posted from another site (login CSRF) never reaches the token check.
    expect((await call('/console/login', form({ token: env.ADMIN_TOKEN }, { origin: 'https://evil.test' }))).status).toBe(403);
  });

  it('a forged, tampered or expired session cookie is refused', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const forged = await Jwt.sign({ iss: 'p13n-console', sub: 'operator', iat, exp: iat + 3600 }, 'guessed-key', 'HS256');
    const good = await newSession(env);
    const [h, , s] = good.split('.');
    const tampered = `${h}.${btoa(JSON.stringify({ iss: 'p13n-console', sub: 'operator', iat, exp: iat + 999_999 })).replace(/=+$/, '')}.${s}`;
    const expired = await newSession(env, Date.now() - 9 * 3600_000);
    for (const v of [forged, tampered, expired, env.ADMIN_TOKEN]) {
      const res = await call('/console/kpis', withCookie(v));
      expect(res.status, v).toBe(303);
      expect(res.headers.get('location')).toBe('/console/login');
    }
    expect((await call('/console/kpis', withCookie(good))).status).toBe(200);
    // State-changing calls without a session are refused with JSON, not redirected.
    const post = await call('/console/slots/home/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(401);
  });

  it('accepts a Cf-Access-Jwt-Assertion signed by the team key set; refuses an unsigned or foreign one', async () => {
    const keys = (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = async (k: CryptoKey) => ({ ...((await crypto.subtle.exportKey('jwk', k)) as JsonWebKey), kid: 'access-1', alg: 'RS256' });
    await originPage('/cdn-cgi/access/certs', { headers: [['content-type', 'application/json']], chunks: [JSON.stringify({ keys: [await jwk(keys.publicKey)] })] });
    const access = { ACCESS_TEAM_DOMAIN: 'origin.test', ACCESS_AUD: 'console-aud' };
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'https://origin.test', aud: ['console-aud'], email: 'ops@shop.test', exp: now + 600, iat: now };
    const signed = await Jwt.sign(claims, await jwk(keys.privateKey));
    const open = (assertion: string, e: Record<string, string> = access) => call('/console/kpis', { headers: { 'cf-access-jwt-assertion': assertion } }, e);
    expect((await open(signed)).status).toBe(200);
    const unsigned = `${btoa('{"alg":"none","typ":"JWT"}').replace(/=+$/, '')}.${signed.split('.')[1]}.`;
    const otherAud = await Jwt.sign({ ...claims, aud: ['another-app'] }, await jwk(keys.privateKey));
    for (const bad of [unsigned, otherAud, 'not-a-jwt']) expect((await open(bad)).status, bad).toBe(303);
    // Without ACCESS_TEAM_DOMAIN / ACCESS_AUD the header means nothing.
    expect((await open(signed, {})).status).toBe(303);
  });
});

describe('KPI rollups', () => {
  it('equal the figures of the events sent: visitors, orders, AOV, items per order, repeat and recommendation shares, per segment and slot', async () => {
    const before = await kpiReport(env.DB, 1);
    const user = await token('kpi-shopper');
    const [s1, s2, s3, s4] = ['kpi-s1', 'kpi-s2', 'kpi-s3', 'kpi-s4'];
    const t = Date.now() - 60_000;
    const signedIn = { user_token: user };
    // s1 (anonymous): one order of two lines (one checkout = one timestamp); s2, s4: views only;
    // s3 (signed in): an order attributed to a recommendation in slot "home", impressions and a click.
    await postEvents([
      event('view', 'skincare-1', s1),
      event('purchase', 'skincare-1', s1, { value: 10, timestamp: t }),
      event('purchase', 'makeup-2', s1, { value: 20, timestamp: t }),
      event('view', 'makeup-3', s2),
      event('view', 'haircare-1', s4),
      event('impression', 'skincare-4', s3, { ...signedIn, slot: 'home', recommendation_id: 'kpi-rec-1' }),
      event('impression', 'skincare-5', s3, { ...signedIn, slot: 'home', recommendation_id: 'kpi-rec-1' }),
      event('click', 'skincare-4', s3, { ...signedIn, slot: 'home', recommendation_id: 'kpi-rec-1' }),
      event('purchase', 'skincare-4', s3, { ...signedIn, slot: 'home', recommendation_id: 'kpi-rec-1', value: 40, timestamp: t + 1000 }),
    ]);
    // Later, in another consumer batch: the signed-in shopper buys again (a repeat order), and s3 is not a new visitor.
    await postEvents([event('view', 'fragrance-1', s3, signedIn), event('purchase', 'fragrance-1', s3, { ...signedIn, value: 50, timestamp: t + 5000 })]);

    const after = await kpiReport(env.DB, 1);
    const delta = (k: keyof typeof after.total) => Number(after.total[k]) - Number(before.total[k]);
    expect({ visitors: delta('visitors'), orders: delta('orders'), items: delta('items'), revenue: delta('revenue'), recRevenue: delta('recRevenue'), repeatOrders: delta('repeatOrders'), views: delta('views') }).toEqual({
      visitors: 4,
      orders: 3,
      items: 4,
      revenue: 120,
      recRevenue: 40,
      repeatOrders: 1,
      views: 4,
    });
    const seg = (r: typeof after, name: string) => r.bySegment.find((s) => s.segment === name) ?? { visitors: 0, orders: 0, revenue: 0 };
    expect(seg(after, 'signed_in').visitors - seg(before, 'signed_in').visitors).toBe(1);
    expect(seg(after, 'anonymous').visitors - seg(before, 'anonymous').visitors).toBe(3);
    expect(seg(after, 'signed_in').revenue - seg(before, 'signed_in').revenue).toBe(90);
    const home = (r: typeof after) => r.bySlot.find((s) => s.slot === 'home') ?? { impressions: 0, clicks: 0, orders: 0, recRevenue: 0 };
    expect([home(after).impressions - home(before).impressions, home(after).clicks - home(before).clicks, home(after).recRevenue - home(before).recRevenue]).toEqual([2, 1, 40]);

    // The page shows the ratios of the totals: conversion = orders / visitors, AOV = revenue / orders …
    const html = await (await call('/console/kpis?days=1', { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).text();
    const tile = (k: string) => new RegExp(`data-kpi="${k}"><small>[^<]*</small><b>([^<]*)</b>`).exec(html)?.[1];
    const f = after.total;
    expect(tile('conversion')).toBe(`${((f.orders / f.visitors) * 100).toFixed(2)}%`);
    expect(tile('aov')).toBe((f.revenue / f.orders).toFixed(2));
    expect(tile('itemsPerOrder')).toBe((f.items / f.orders).toFixed(2));
    expect(tile('repeatRate')).toBe(`${((f.repeatOrders / f.orders) * 100).toFixed(2)}%`);
    expect(tile('recShare')).toBe(`${((f.recRevenue / f.revenue) * 100).toFixed(2)}%`);
    // Bad input is a 4xx page, not a 500.
    expect((await call('/console/kpis?days=400', { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).status).toBe(400);
  });
});

describe('preview as a shopper', () => {
  it("explains a model-ranked item: its model signals (feature × learned weight) add up to its score; nothing is recorded", async () => {
    const { onnx, manifest, catalog } = demoModel();
    await seedCatalog(catalog);
    await registerModel('console-v1', onnx, manifest);
    expect((await activate('console-v1')).status).toBe(200);
    const category = catalog[0].category;
    const seen = catalog.filter((i: any) => i.category === category).slice(0, 3);
    await postEvents(seen.map((i: any) => event('view', i.item_id, 'console-model-shopper')));

    const html = await (await call('/console/preview?session_id=console-model-shopper&slots=home&k=5', { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).text();
    expect(html).toContain('strategy <b>model</b>');
    const rows = [...html.matchAll(/<tr><td>\d+<\/td><td><code>([^<]+)<\/code><\/td>.*?<td>(-?\d+\.\d{4})<\/td>.*?<\/tr>/g)];
    expect(rows.length).toBe(5);
    for (const [row, , score] of rows) {
      const parts = [...row.matchAll(/model: [a-z_]+ <b>(-?[\d.]+)<\/b>/g)].map((m) => Number(m[1]));
      expect(parts.length).toBeGreaterThan(0);
      // Each part is rounded to 0.001: the sum is within that of the score.
      expect(Math.abs(parts.reduce((a, b) => a + b, 0) - Number(score))).toBeLessThan(0.001 * parts.length + 1e-4);
    }
    // A preview is not a serve: inside a running experiment, a real request leaves a served record, a preview none.
    const exp = { id: 'console-preview-exp', slot: 'console-exp', variants: [{ name: 'a', strategy: 'model', control: true }, { name: 'b', strategy: 'model' }] };
    expect((await call('/v1/admin/experiments', { method: 'POST', headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(exp) })).status).toBe(200);
    expect((await call('/v1/admin/experiments/console-preview-exp/start', { method: 'POST', headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).status).toBe(200);
    const served = async () => (await env.DB.prepare("SELECT count(*) AS n FROM rec_served WHERE experiment_id = 'console-preview-exp'").first<{ n: number }>())!.n;
    expect((await call('/v1/recommendations?slot=console-exp&session_id=console-model-shopper&k=3')).status).toBe(200);
    expect(await served()).toBe(1);
    const preview = await call('/console/preview?session_id=console-model-shopper&slots=console-exp&k=3', { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(await preview.text()).toContain('experiment console-preview-exp');
    expect(await served()).toBe(1);
    // A segment that does not exist is a 400 page, not a 500.
    expect((await call('/console/preview?segment=no-such-segment&slots=home', { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } })).status).toBe(400);
  });
});
