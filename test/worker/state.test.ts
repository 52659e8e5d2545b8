import { env } from 'cloudflare:workers';
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { issueSessionId } from '../../worker/identity/session-id';
import { sessionStub } from '../../worker/session/client';
import { adminJson, event, fetchWorker, fixtureCatalog, postEvents, publicCaller, recommendations, seedCatalog, token, waitForLog } from './helpers';

beforeAll(() => seedCatalog());

describe('session Durable Object', () => {
  it('keeps bounded state: the newest 50 items only', async () => {
    const items = fixtureCatalog();
    await postEvents(items.slice(0, 80).map((i) => event('view', i.item_id, 'long-session')));
    const stub = sessionStub(env, await pseudonymize(env, 's', 'long-session'), null);
    const f = await stub.features(null);
    expect(f.recent).toHaveLength(50);
    expect(f.recent[0]!.itemId).toBe(items[79]!.item_id);
    expect(Object.keys(f.attrs).length).toBeLessThanOrEqual(100);
  });

  it('updates the long-term profile in D1 in one batch on its alarm, not per event', async () => {
    const uid = 'profile-user';
    const userKey = await pseudonymize(env, 'u', uid);
    const user_token = await token(uid);
    await postEvents([
      event('view', 'haircare-1', 'p-sess', { user_token }),
      event('add_to_cart', 'haircare-2', 'p-sess', { user_token }),
      event('purchase', 'haircare-2', 'p-sess', { user_token, value: 19.5 }),
    ]);
    const before = await env.DB.prepare('SELECT * FROM profiles WHERE user_key = ?').bind(userKey).first();
    expect(before).toBeNull();
    const stub = sessionStub(env, await pseudonymize(env, 's', 'p-sess'), userKey);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const row = (await env.DB.prepare('SELECT * FROM profiles WHERE user_key = ?').bind(userKey).first()) as any;
    expect(row.purchase_count).toBe(1);
    expect(row.monetary).toBeCloseTo(19.5);
    expect(JSON.parse(row.purchases)).toEqual(['haircare-2']);
    expect(JSON.parse(row.affinities)['category:haircare']).toBe(1 + 3 + 5);
    await runInDurableObject(stub, async (_obj, state) => {
      expect(state.storage.sql.exec('SELECT COUNT(*) AS n FROM outbox').one().n).toBe(0);
    });
  });

  it('a session that only reads (no events yet) stores nothing; its first event creates its state', async () => {
    const items = fixtureCatalog();
    const stub = sessionStub(env, await pseudonymize(env, 's', 'read-only-visit'), null);
    const tables = () =>
      runInDurableObject(stub, async (_obj, state) =>
        state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
          .toArray()
          .map((r) => r.name),
      );
    const first = await recommendations({ slot: 'home', session_id: 'read-only-visit', k: 5 });
    expect(first.status).toBe(200);
    expect((await stub.features(null)).recent).toEqual([]);
    expect(await tables()).toEqual([]);
    await postEvents([event('view', items[3]!.item_id, 'read-only-visit')]);
    expect(await tables()).toContain('seen');
    expect((await stub.features(null)).recent.map((r) => r.itemId)).toEqual([items[3]!.item_id]);
  });

  it('a recommendation reuses the session features this isolate just read, and an event batch refreshes them', async () => {
    const sid = 'cached-session';
    const timed = async (extra: Record<string, string | number> = {}) => {
      const r = await recommendations({ slot: 'home', session_id: sid, k: 20, category: 'makeup', ...extra });
      const parts = (r.headers.get('server-timing') ?? '').split(', ').map((p) => p.split(';')[0]);
      return { ids: r.body.items.map((i: any) => i.item_id) as string[], parts };
    };
    await postEvents([event('view', 'makeup-1', sid)]); // and the consumer's pass over it
    const first = await timed();
    expect(first.parts).toContain('session'); // read from the session's object
    const second = await timed();
    expect(second.parts).toContain('session-cache'); // the next page: no Durable Object round trip
    expect(second.parts).not.toContain('session');
    expect(second.ids).toContain('makeup-2');
    // A browser batch (handled inline) changes the session: the very next answer reads it again.
    await postEvents([event('add_to_cart', 'makeup-2', sid)], { settle: false });
    const after = await timed();
    expect(after.parts).toContain('session');
    expect(after.ids).not.toContain('makeup-2'); // in the cart now
  });

  it("a browser's accepted beacon stamps its cookies, and a stamp newer than the isolate's read sends the next answer to the object", async () => {
    const sid = await issueSessionId(env, null);
    const e = { ...event('view', 'makeup-3', sid), session_id: undefined };
    const res = await fetchWorker('/v1/events', {
      method: 'POST',
      headers: publicCaller({ 'content-type': 'application/json', origin: 'https://shop.test', cookie: `p13n_consent=granted; p13n_sid=${sid}` }),
      body: JSON.stringify({ events: [e] }),
    });
    expect(res.status).toBe(200);
    await waitForLog([e.event_id]); // the consumer's pass too
    const stamp = Number(/p13n_sv=(\d+)/.exec(res.headers.getSetCookie().join('\n'))?.[1]);
    expect(stamp).toBeGreaterThan(0);
    const parts = async (cookie?: string) => {
      const r = await fetchWorker(`/v1/recommendations?slot=home&k=5&session_id=${sid}`, cookie ? { headers: { cookie } } : undefined);
      return (r.headers.get('server-timing') ?? '').split(', ').map((p) => p.split(';')[0]);
    };
    await parts();
    expect(await parts()).toContain('session-cache');
    // As if another isolate took a later beacon: this isolate's entry predates the stamp.
    expect(await parts(`p13n_sv=${Date.now() + 1000}`)).toContain('session');
  });

  it("a backend's one-session batch answers with a session stamp; the stamp in X-P13n-Session-Stamp sends the next answer to the object", async () => {
    const sid = 'backend-stamped';
    const one = await postEvents([event('view', 'makeup-4', sid)]);
    expect(one.body.session_stamp).toBeGreaterThan(0);
    // A multi-session batch goes to the sessions' objects through the queue: no stamp to promise.
    const many = await postEvents([event('view', 'makeup-4', 'backend-a'), event('view', 'makeup-5', 'backend-b')]);
    expect(many.status).toBe(200);
    expect(many.body.session_stamp).toBeUndefined();
    const parts = async (stamp?: number) => {
      const r = await fetchWorker(`/v1/recommendations?slot=home&k=5&session_id=${sid}`, stamp ? { headers: { 'x-p13n-session-stamp': String(stamp) } } : undefined);
      return (r.headers.get('server-timing') ?? '').split(', ').map((p) => p.split(';')[0]);
    };
    await parts();
    expect(await parts(one.body.session_stamp)).toContain('session-cache'); // read after the stamp
    // As if another isolate took a later batch: this isolate's entry predates the stamp.
    expect(await parts(Date.now() + 1000)).toContain('session');
  });

  it("a purchase in one session is excluded in the shopper's next session, via the profile", async () => {
    const uid = 'two-sessions';
    const user_token = await token(uid);
    await postEvents([event('purchase', 'fragrance-0', 'first-visit', { user_token, value: 5 })]);
    await runDurableObjectAlarm(sessionStub(env, await pseudonymize(env, 's', 'first-visit'), await pseudonymize(env, 'u', uid)));
    const r = await recommendations({ slot: 'home', session_id: 'second-visit', user_token, k: 20, category: 'fragrance' });
    expect(r.body.items.map((i: any) => i.item_id)).not.toContain('fragrance-0');
    const anon = await recommendations({ slot: 'home', session_id: 'someone-else', k: 20, category: 'fragrance' });
    expect(anon.body.items.map((i: any) => i.item_id)).toContain('fragrance-0');
  });
});

describe('session retention', () => {
  it('an idle session forgets everything after SESSION_RETENTION_DAYS; an active one keeps its state', async () => {
    await postEvents([event('view', 'makeup-3', 'idle-session'), event('add_to_cart', 'makeup-4', 'idle-session')]);
    await postEvents([event('view', 'makeup-5', 'active-session')]);
    const idle = sessionStub(env, await pseudonymize(env, 's', 'idle-session'), null);
    const active = sessionStub(env, await pseudonymize(env, 's', 'active-session'), null);
    // 31 days pass for the idle one (its last activity is moved back; retention is 30 days).
    await runInDurableObject(idle, async (_obj, state) => {
      state.storage.sql.exec("UPDATE kv SET value = json_set(value, '$.touchedAt', ?) WHERE key = 'state'", Date.now() - 31 * 86_400_000);
    });
    expect(await runDurableObjectAlarm(idle)).toBe(true);
    expect(await runDurableObjectAlarm(active)).toBe(true);
    const gone = await idle.features(null);
    expect(gone.recent).toEqual([]);
    expect(gone.cart).toEqual([]);
    expect((await active.features(null)).recent.map((r) => r.itemId)).toEqual(['makeup-5']);
    // The active session is checked again when its retention would end.
    await runInDurableObject(active, async (_obj, state) => {
      expect(await state.storage.getAlarm()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    });
  });
});

describe('catalog administration', () => {
  it('upserts thousands of items per call as NDJSON and reports bad lines', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ item_id: `bulk-${i}`, title: `Bulk ${i}`, category: 'bulk', price: i % 50 }));
    lines.splice(10, 0, '{"item_id": "broken", "price": -1}', 'not json');
    const res = await fetchWorker('/v1/admin/catalog', {
      method: 'POST',
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.upserted).toBe(3000);
    expect(body.rejected.map((r: any) => r.line)).toEqual([11, 12]);
    expect(body.rejected[0].issues.map((i: any) => i.field).sort()).toEqual(['price', 'title']);
    const stats = (await (await adminJson('/v1/admin/stats', 'GET')).json()) as any;
    expect(stats.items).toBe(3000 + fixtureCatalog().length);
  });

  it('an item marked out of stock or removed is no longer recommended', async () => {
    const top = (await recommendations({ slot: 'home', k: 3 })).body.items.map((i: any) => i.item_id);
    expect((await adminJson(`/v1/admin/catalog/${top[0]}`, 'PATCH', { in_stock: false })).status).toBe(200);
    expect((await adminJson(`/v1/admin/catalog/${top[1]}`, 'DELETE')).status).toBe(200);
    const after = (await recommendations({ slot: 'home', k: 3 })).body.items.map((i: any) => i.item_id);
    expect(after).not.toContain(top[0]);
    expect(after).not.toContain(top[1]);
    expect((await adminJson(`/v1/admin/catalog/${top[1]}`, 'DELETE')).status).toBe(404);
  });
});
