/**
 * Abuse limits and headers (worker/security/): rate limits per client and per session, body
 * size limits, the CORS allow-list, security headers, and admin token rotation.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { event, fetchWorker, logEvents, seedCatalog } from './helpers';
import { call } from './ops-helpers';
import { originPage } from './rewrite-helpers';

beforeAll(() => seedCatalog());

const ON = { RATE_LIMITS: 'on' } as unknown as Partial<Env>;

describe('rate limits (vitest.config.ts sets the local limits to 20 per client IP and 10 per session a minute)', () => {
  it('a client over its limit gets 429 with a JSON error and Retry-After; other clients are served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) {
      const res = await call(`/v1/recommendations?slot=home&k=2`, { headers: { 'cf-connecting-ip': '203.0.113.7' } }, ON);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('60');
        expect(((await res.json()) as any).error.code).toBe('rate_limited');
      }
    }
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    const other = await call(`/v1/recommendations?slot=home&k=2`, { headers: { 'cf-connecting-ip': '203.0.113.8' } }, ON);
    expect(other.status).toBe(200);
  });

  it('one session cannot flood the API from many addresses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await call(`/v1/recommendations?slot=home&k=2&session_id=flooding-session`, { headers: { 'cf-connecting-ip': `198.51.100.${i}` } }, ON);
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('RATE_LIMITS=off (local load tests) lets everything through', async () => {
    for (let i = 0; i < 25; i++) {
      const res = await call(`/v1/recommendations?slot=home&k=2`, { headers: { 'cf-connecting-ip': '203.0.113.99' } });
      expect(res.status).toBe(200);
    }
  });
});

describe('body limits', () => {
  it('an event batch over 1 MiB is refused with 413 before it is parsed, and nothing is stored', async () => {
    const big = { events: Array.from({ length: 400 }, (_, i) => event('view', 'skincare-1', 'big-body', { slot: 'x'.repeat(100), event_id: `big-${i}-${'y'.repeat(2500)}`.slice(0, 128), padding: 'z'.repeat(2600) })) };
    const body = JSON.stringify(big);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'payload_too_large' });
    expect((await logEvents()).filter((r) => String(r.event_id).startsWith('big-'))).toEqual([]);
  });

  it('a recommendations body over 64 KiB is refused with 413', async () => {
    const res = await fetchWorker('/v1/recommendations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slot: 'home', exclude: Array.from({ length: 200 }, () => 'x'.repeat(400)) }),
    });
    expect(res.status).toBe(413);
  });
});

describe('CORS allow-list (CORS_ORIGINS = https://shop.test in the tests)', () => {
  it('an allowed storefront origin may call the public API from a browser', async () => {
    const pre = await fetchWorker('/v1/events', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://shop.test');
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    const get = await fetchWorker('/v1/recommendations?slot=home&k=1', { headers: { origin: 'https://shop.test' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('https://shop.test');
  });

  it('any other origin gets no CORS grant, and admin routes never do', async () => {
    const evil = await fetchWorker('/v1/recommendations?slot=home&k=1', { headers: { origin: 'https://evil.test' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetchWorker('/v1/events', { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const admin = await fetchWorker('/v1/admin/health', { headers: { origin: 'https://shop.test' } });
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('security headers', () => {
  it('every response of ours carries them, errors included', async () => {
    for (const [path, init] of [
      ['/health', {}],
      ['/v1/recommendations?slot=home', {}],
      ['/v1/recommendations', {}],
      ['/v1/admin/stats', {}],
      ['/v1/nope', {}],
      ['/openapi.json', {}],
      ['/v1/events', { method: 'POST', body: 'not json', headers: { 'content-type': 'application/json' } }],
    ] as const) {
      const res = await fetchWorker(path, init);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });

  it('the snippet may be loaded by a storefront on another origin; blocks too', async () => {
    expect((await fetchWorker('/p13n.js')).headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await fetchWorker('/v1/blocks/home?k=1')).headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await fetchWorker('/v1/recommendations?slot=home&k=1')).headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });

  it("proxied storefront pages keep the origin's own headers", async () => {
    await originPage('/headers-page', {
      headers: [
        ['content-type', 'text/html; charset=utf-8'],
        ['content-security-policy', "script-src 'self' cdn.shop.test"],
      ],
      chunks: ['<html><body><p>hi</p></body></html>'],
    });
    const res = await fetchWorker('/headers-page');
    expect(res.headers.get('content-security-policy')).toBe("script-src 'self' cdn.shop.test");
    expect(res.headers.get('x-frame-options')).toBeNull();
  });
});

describe('admin token rotation', () => {
  it('during a rotation both the old and the new token work; afterwards only the new one', async () => {
    const oldToken = env.ADMIN_TOKEN;
    const newToken = 'the-next-admin-token-0123456789';
    const during = { ADMIN_TOKEN: oldToken, ADMIN_TOKEN_NEXT: newToken } as Partial<Env>;
    for (const t of [oldToken, newToken]) {
      expect((await call('/v1/admin/stats', { headers: { authorization: `Bearer ${t}` } }, during)).status).toBe(200);
    }
    const after = { ADMIN_TOKEN: newToken, ADMIN_TOKEN_NEXT: '' } as Partial<Env>;
    expect((await call('/v1/admin/stats', { headers: { authorization: `Bearer ${newToken}` } }, after)).status).toBe(200);
    expect((await call('/v1/admin/stats', { headers: { authorization: `Bearer ${oldToken}` } }, after)).status).toBe(401);
    expect((await call('/v1/admin/dashboard', { headers: { authorization: `Bearer ${oldToken}` } }, after)).status).toBe(401);
  });
});
