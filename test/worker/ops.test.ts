/**
 * Observability: request ids, structured logs without personal data, the missing-secret error,
 * the metrics summary for the last hour and the health fields.
 */
import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../../worker/ops/log';
import { SHARD_PREFIX } from '../../worker/ops/durable-object';
import { opsStub } from '../../worker/ops/metrics';
import { ADMIN, event, seedCatalog } from './helpers';
import { admin, call, captureLogs, recs } from './ops-helpers';

beforeAll(async () => {
  await seedCatalog();
});

describe('request ids', () => {
  it('every response carries an X-Request-Id, and every log line of the request has it', async () => {
    const { result: res, lines } = await captureLogs(() => call('/v1/recommendations?slot=home&k=3'));
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const access = lines.find((l) => l.msg === 'request');
    expect(access).toMatchObject({ level: 'info', request_id: id, method: 'GET', route: '/v1/recommendations', status: 200 });
    expect(typeof access.ms).toBe('number');
    // Two requests, two ids.
    expect((await call('/health')).headers.get('x-request-id')).not.toBe(id);
  });

  it("keeps a caller's id when it looks like one (so a proxy's logs line up), replaces one that does not", async () => {
    expect((await call('/health', { headers: { 'x-request-id': 'edge-abc123-xyz' } })).headers.get('x-request-id')).toBe('edge-abc123-xyz');
    const bad = (await call('/health', { headers: { 'x-request-id': 'has spaces <script>' } })).headers.get('x-request-id');
    expect(bad).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('errors carry the id too', async () => {
    const res = await call('/v1/recommendations?k=3'); // slot missing: 400
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const nf = await call('/v1/nope');
    expect(nf.status).toBe(404);
    expect(nf.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('logs hold no personal data', () => {
  it('the access log of requests with shopper ids, e-mails, tokens and IPs contains none of them', async () => {
    const secrets = ['shopper-4711', 'jane.doe@example.com', 'session-xyz-123', '203.0.113.77', env.ADMIN_TOKEN];
    const { lines, raw } = await captureLogs(async () => {
      await call('/v1/recommendations?slot=home&k=3&user_id=shopper-4711&session_id=session-xyz-123&email=jane.doe@example.com', {
        headers: { 'cf-connecting-ip': '203.0.113.77', 'user-agent': 'Mozilla/5.0 jane.doe@example.com', cookie: 'sid=session-xyz-123' },
      });
      await call('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.77' },
        body: JSON.stringify({ events: [event('view', 'skincare-1', 'session-xyz-123', { user_id: 'shopper-4711' })] }),
      });
      await call('/v1/admin/stats', { headers: ADMIN });
      await call('/v1/admin/stats', { headers: { authorization: 'Bearer wrong-token-jane.doe@example.com' } });
    });
    expect(lines.filter((l) => l.msg === 'request')).toHaveLength(4);
    const all = raw.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
    // The route pattern is logged; neither the concrete path nor the query string is.
    const line = lines.find((l) => l.msg === 'request' && l.route === '/v1/recommendations');
    expect(line).toBeDefined();
    expect(line.path).toBeUndefined();
  });

  it('the redactor masks sensitive fields and personal data inside free text', () => {
    const out = redact({
      user_id: 'u1',
      session_id: 's1',
      Authorization: 'Bearer abc',
      nested: { email: 'a@b.co', note: 'contact a.b@example.org from 198.51.100.4', url: '/v1/recommendations?user_id=u1&slot=x' },
      list: ['Bearer sekret-token-value', 'ok'],
      version: 'v3',
    }) as any;
    expect(out).toEqual({
      user_id: '[redacted]',
      session_id: '[redacted]',
      Authorization: '[redacted]',
      nested: { email: '[redacted]', note: 'contact [redacted] from [redacted]', url: '/v1/recommendations?[redacted]' },
      list: ['Bearer [redacted]', 'ok'],
      version: 'v3',
    });
  });
});

describe('missing secrets', () => {
  it('answer 503 with a JSON error naming the missing secret; the public /health stays trivial', async () => {
    const res = await call('/v1/recommendations?slot=home', undefined, { PSEUDONYM_KEY: '' });
    expect(res.status).toBe(503);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe('not_configured');
    expect(body.error.message).toMatch(/missing secret PSEUDONYM_KEY/);
    expect(body.error.message).toMatch(/wrangler secret put/);

    const both = (await (await call('/v1/admin/health', { headers: ADMIN }, { PSEUDONYM_KEY: undefined, ADMIN_TOKEN: '' } as any)).json()) as any;
    expect(both.error.message).toMatch(/missing secrets ADMIN_TOKEN, PSEUDONYM_KEY/);

    const short = (await (await call('/v1/events', { method: 'POST' }, { ADMIN_TOKEN: 'short' })).json()) as any;
    expect(short.error.message).toMatch(/ADMIN_TOKEN/);

    const health = await call('/health', undefined, { PSEUDONYM_KEY: '', ADMIN_TOKEN: '' });
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('metrics', () => {
  it('the admin summary counts the last hour by route, status and latency, and recommendations by model and slot', async () => {
    const before = (await admin('/v1/admin/metrics')).body;
    for (let i = 0; i < 5; i++) await recs({ slot: 'ops-slot', session_id: `m-${i}`, k: 3 });
    await call('/v1/recommendations?k=3'); // 400
    const after = (await admin('/v1/admin/metrics')).body;
    const r0 = before.requests.routes['/v1/recommendations'] ?? { requests: 0, by_status: {} };
    const r1 = after.requests.routes['/v1/recommendations'];
    expect(r1.requests - r0.requests).toBe(6);
    expect((r1.by_status['200'] ?? 0) - (r0.by_status['200'] ?? 0)).toBe(5);
    expect((r1.by_status['400'] ?? 0) - (r0.by_status['400'] ?? 0)).toBe(1);
    expect(r1.p95_ms).toBeGreaterThan(0);
    expect(r1.max_ms).toBeGreaterThanOrEqual(r1.avg_ms);
    expect(after.window.minutes).toBe(60);
    // No model is active in this file: every recommendation is a popularity fallback.
    expect(after.recommendations.by_slot['ops-slot']).toEqual({ requests: 5, fallback_rate: 1 });
    expect(after.recommendations.by_model['(fallback)'].requests).toBeGreaterThanOrEqual(5);
    expect(after.recommendations.fallback_rate).toBe(1);
    expect(Object.keys(after.recommendations.categories).length).toBeGreaterThan(0);
  });

  it('a batch of many points from one isolate counts every one of them', async () => {
    const t = Date.now();
    const requests = Array.from({ length: 40 }, (_, i) => ({ kind: 'request' as const, t, route: '/batch-route', method: 'GET', status: i < 30 ? 200 : 503, ms: i + 1 }));
    const serves = Array.from({ length: 12 }, (_, i) => ({
      kind: 'serve' as const,
      t,
      slot: 'batch-slot',
      model: null,
      arm: null,
      rollout: null,
      variant: null,
      fallback: true, // no model is active in this file
      error: false,
      topScore: null,
      categories: { 'batch-cat-a': 2, 'batch-cat-b': 1 },
    }));
    await opsStub(env).record([...requests, ...serves]);
    const m = (await admin('/v1/admin/metrics')).body;
    const r = m.requests.routes['/batch-route'];
    expect(r.requests).toBe(40);
    expect(r.by_status).toEqual({ '200': 30, '503': 10 });
    expect(r.avg_ms).toBeCloseTo(20.5);
    expect(r.max_ms).toBe(40);
    expect(m.recommendations.by_slot['batch-slot']).toEqual({ requests: 12, fallback_rate: 1 });
    expect(m.recommendations.categories['batch-cat-a']).toBe(24);
    expect(m.recommendations.categories['batch-cat-b']).toBe(12);
  });

  it('a metrics shard hands its sums to the ops object when its rollup is due (or by its alarm), each point counted once', async () => {
    const shard = env.OPS.get(env.OPS.idFromName(`${SHARD_PREFIX}held`));
    // Inside the shard object (untyped: OpsState's RPC type is too deep for runInDurableObject's generics).
    const inShard = (fn: (obj: any) => Promise<unknown>) => (runInDurableObject as unknown as (stub: unknown, f: (obj: any) => Promise<unknown>) => Promise<unknown>)(shard, fn);
    const t = Date.now();
    const points = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'request' as const, t, route: '/shard-route', method: 'GET', status: 200, ms: i + 1 }));
    const counted = async () => (await admin('/v1/admin/metrics')).body.requests.routes['/shard-route']?.requests ?? 0;
    await inShard((obj) => obj.record(points(2))); // the shard's first batch: handed over at once
    expect(await counted()).toBe(2);
    // Its next rollup is not due: the shard keeps the sums, and its alarm is set.
    await inShard(async (obj) => {
      obj.lastRollup = Date.now() + 3600_000;
      await obj.record(points(3));
    });
    expect(await counted()).toBe(2);
    expect(await (runDurableObjectAlarm as unknown as (stub: unknown) => Promise<boolean>)(shard)).toBe(true);
    expect(await counted()).toBe(5);
    // Handed over once: nothing is left to hand over again.
    await inShard((obj) => obj.alarm());
    expect(await counted()).toBe(5);
  });

  it('health reports model version and age, storage reachability, the fallback rate and why it is degraded', async () => {
    // Health judges the fallback rate only with enough traffic (20 recommendations in the hour).
    for (let i = 0; i < 20; i++) await recs({ slot: 'health', k: 2 });
    const h = (await admin('/v1/admin/health')).body;
    expect(h.status).toBe('degraded');
    expect(h.reasons).toContain('no_active_model');
    expect(h.reasons).toContain('high_fallback_rate');
    expect(h.model).toMatchObject({ version: null, activeVersion: null, model_age_hours: null });
    expect(h.storage.d1.ok).toBe(true);
    expect(h.storage.r2.ok).toBe(true);
    expect(h.storage.exports_r2.ok).toBe(true);
    expect(h.storage.metrics_object.ok).toBe(true);
    expect(h.traffic.fallback_rate).toBe(1);
    expect(h.traffic.recommendations).toBeGreaterThanOrEqual(25);
  });

  it('writes one Analytics Engine point per request and per recommendation (the binding accepts them)', async () => {
    const { lines } = await captureLogs(() => recs({ slot: 'ae', k: 2 }));
    expect(lines.some((l) => l.msg === 'analytics_engine_write_failed')).toBe(false);
    expect(env.METRICS).toBeDefined();
  });
});
