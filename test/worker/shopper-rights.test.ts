/**
 * Shopper rights end to end: real state for a shopper built through the public API (events with
 * a signed user token, recommendations inside an A/B experiment, profile flushes, the event-log
 * export to R2 and retention trim), then access (everything comes back) and erasure (afterwards
 * no D1 table, Durable Object or R2 object holds the raw id, its pseudonymous keys, the shopper's
 * event ids or the recommendations served to them), while another shopper's data stays as it was.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import worker from '../../worker/index';
import type { EventMessage } from '../../worker/events/message';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { opsStub } from '../../worker/ops/metrics';
import { exportEvents, gunzip, trimEvents } from '../../worker/ops/export';
import { bufferStub } from '../../worker/events/buffer-client';
import { toMessages } from '../../worker/events/message';
import { sessionStub } from '../../worker/session/client';
import { adminJson, event, fetchWorker, logEvents, seedCatalog, token, waitForLog } from './helpers';
import { admin, call, rightsJob } from './ops-helpers';

const DAY = 86_400_000;
const run = Math.random().toString(36).slice(2, 8);
const ALICE = `alice-${run}@example.com`;
const BOB = `bob-${run}@example.com`;
const S = {
  old: `alice-old-${run}`, // 40 days ago: after the trim only in R2, the index and its session object
  web: `alice-web-${run}`, // anonymous browsing, then login in the same session
  app: `alice-app-${run}`, // logged in; profile changes still queued at erasure time
  recs: `alice-recs-${run}`, // only asked for recommendations (its object caches her profile)
  bob: `bob-web-${run}`,
  anon: `anon-${run}`,
};
const SLOT = `rights-slot-${run}`;
/**
 * Alice's access and erasure requests. Sessions are covered by the shopper's own key (her events,
 * her own session objects); the storefront names the session she browsed in anonymously before
 * logging in, so that browsing is covered too.
 */
const ALICE_REQUEST = { user_id: ALICE, session_ids: [S.web] };

async function track(events: Record<string, unknown>[], userId?: string): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'X-P13n-Consent': 'granted' };
  if (userId) headers['X-P13n-User-Token'] = await token(userId);
  const res = await call('/v1/events', { method: 'POST', headers, body: JSON.stringify({ events: userId ? events.map((e) => ({ ...e, user_id: userId })) : events }) });
  const body = (await res.json()) as { accepted: number };
  expect(res.status).toBe(200);
  expect(body.accepted).toBe(events.length);
  // The queue consumer writes the R2 log, attribution and the session index a moment later.
  await waitForLog(events.map((e) => String(e.event_id)));
}

async function recsFor(sessionId: string, userId: string): Promise<string> {
  const userToken = await token(userId);
  const qs = new URLSearchParams({ slot: SLOT, session_id: sessionId, k: '4' });
  const res = await call(`/v1/recommendations?${qs}`, { headers: { 'X-P13n-Consent': 'granted', 'X-P13n-User-Token': userToken } });
  const body = (await res.json()) as { recommendation_id: string; experiment: string | null; items: { item_id: string }[] };
  expect(res.status).toBe(200);
  expect(body.experiment).toBe(`rights-exp-${run}`);
  return body.recommendation_id;
}

const keys = { user: '', sessions: {} as Record<keyof typeof S, string> };
const aliceEventIds: string[] = [];
/** Alice's events in the R2 event log (all of them: the consumer logged each). */
let aliceExported = 0;
const aliceRecIds: string[] = [];

/** Every place a trace of Alice could hide. */
function needles(): string[] {
  const aliceSessions = (['old', 'web', 'app', 'recs'] as const).flatMap((k) => [S[k], keys.sessions[k]]);
  return [ALICE, keys.user, ...aliceSessions, ...aliceEventIds, ...aliceRecIds];
}

const found = (text: string, list = needles()) => list.filter((n) => text.includes(n));

/** Every row of every D1 table, serialised. */
async function d1Dump(): Promise<Record<string, string>> {
  const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{ name: string }>();
  expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(['events', 'profiles', 'rec_served', 'rec_purchases', 'shopper_sessions', 'erasure_receipts']));
  const out: Record<string, string> = {};
  for (const { name } of results) out[name] = JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
  return out;
}

/** Everything in a Durable Object's storage: every SQL table (incl. the KV table) and the alarm. */
async function doDump(stub: DurableObjectStub): Promise<{ rows: number; text: string; alarm: number | null }> {
  return runInDurableObject(stub, async (_obj, state) => {
    const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
    let rows = 0;
    let text = '';
    for (const { name } of tables) {
      // Internal tables: the KV API and the alarm below read them.
      if (name === 'sqlite_sequence' || name.startsWith('_cf_')) continue;
      const all = state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray();
      rows += all.length;
      text += JSON.stringify(all);
    }
    const kv = await state.storage.list();
    rows += kv.size;
    text += JSON.stringify([...kv]);
    return { rows, text, alarm: await state.storage.getAlarm() };
  });
}

/** Every object of both R2 buckets, decompressed where it is gzip. */
async function r2Dump(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const bucket of [env.EXPORTS, env.MODELS]) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ cursor, include: ['httpMetadata', 'customMetadata'] });
      for (const o of page.objects) {
        const obj = await bucket.get(o.key);
        const bytes = await obj!.arrayBuffer();
        const text = o.key.endsWith('.gz') ? await gunzip(bytes) : new TextDecoder().decode(bytes);
        out[o.key] = text + JSON.stringify(o.customMetadata ?? {});
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return out;
}

const exportOf = async (body: unknown) => (await rightsJob('export', body)).export;
const erase = async (body: unknown) => (await rightsJob('erase', body)).receipt;

beforeAll(async () => {
  await seedCatalog();
  keys.user = await pseudonymize(env, 'u', ALICE);
  for (const [k, id] of Object.entries(S)) keys.sessions[k as keyof typeof S] = await pseudonymize(env, 's', id);
  const created = await adminJson('/v1/admin/experiments', 'POST', {
    id: `rights-exp-${run}`,
    slot: SLOT,
    variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'control' }],
  });
  expect(created.status).toBe(200);
  expect((await adminJson(`/v1/admin/experiments/rights-exp-${run}/start`, 'POST')).status).toBe(200);

  const mine = (e: Record<string, unknown>) => (aliceEventIds.push(String(e.event_id)), e);
  // 40 days ago, then exported to R2 and trimmed from D1 by retention.
  const old = Date.now() - 40 * DAY;
  await track([mine(event('view', 'makeup-3', S.old, { timestamp: old })), mine(event('purchase', 'makeup-3', S.old, { timestamp: old + 1000, value: 9 }))], ALICE);
  await runDurableObjectAlarm(sessionStub(env, keys.sessions.old, keys.user));

  // Today: anonymous browsing, then login; a recommendation inside the experiment, clicked and bought.
  await track([mine(event('view', 'skincare-1', S.web)), mine(event('view', 'skincare-2', S.web))]);
  const rec = await recsFor(S.web, ALICE);
  aliceRecIds.push(rec);
  await track(
    [
      mine(event('impression', 'skincare-0', S.web, { recommendation_id: rec, slot: SLOT })),
      mine(event('click', 'skincare-0', S.web, { recommendation_id: rec, slot: SLOT })),
      mine(event('purchase', 'skincare-0', S.web, { recommendation_id: rec, slot: SLOT, value: 25 })),
    ],
    ALICE,
  );
  await runDurableObjectAlarm(sessionStub(env, keys.sessions.web, keys.user));
  // Only recommendations in this session: its object caches her (now flushed) profile.
  aliceRecIds.push(await recsFor(S.recs, ALICE));

  // Bob, in the same day's partitions, and an anonymous shopper.
  await track([event('view', 'skincare-1', S.bob), event('purchase', 'skincare-1', S.bob, { value: 6 }), event('view', 'makeup-3', S.bob, { timestamp: old - 3 * DAY })], BOB);
  await runDurableObjectAlarm(sessionStub(env, keys.sessions.bob, await pseudonymize(env, 'u', BOB)));
  await recsFor(S.bob, BOB);
  await track([event('view', 'haircare-1', S.anon), event('view', 'haircare-2', S.anon)]);

  // The daily export and trim: events never reach D1 any more, so there is nothing to move.
  expect((await exportEvents(env, Date.now(), { settleMs: 0 })).rows).toBe(0);
  expect((await trimEvents(env, Date.now())).deleted).toBe(0);

  // Last: an app session whose profile changes are still queued in its object (alarm pending).
  await track([mine(event('view', 'fragrance-4', S.app)), mine(event('add_to_cart', 'fragrance-4', S.app))], ALICE);
  aliceExported = aliceEventIds.length;
});

describe('right of access', () => {
  it("exports everything held about the shopper: profile, every session's state, events (D1 and R2), attribution, segments", async () => {
    const doc = await exportOf(ALICE_REQUEST);
    expect(doc.subject.user_key).toBe(keys.user);
    expect(JSON.stringify(doc)).not.toContain(ALICE);
    expect(doc.subject.session_keys.sort()).toEqual([keys.sessions.old, keys.sessions.web, keys.sessions.app, keys.sessions.recs].sort());
    expect(doc.profile).toMatchObject({ user_key: keys.user, purchase_count: 2, monetary: 34 });
    // The trimmed 40-day-old events come back from the R2 archive, today's from D1: all of them, once.
    expect(doc.events.map((e: any) => e.event_id).sort()).toEqual([...aliceEventIds].sort());
    const byKey = Object.fromEntries(doc.sessions.map((s: any) => [s.session_key, s.state]));
    expect(Object.keys(byKey).sort()).toEqual(doc.subject.session_keys);
    expect(byKey[keys.sessions.app].pending_profile_events).toHaveLength(2);
    expect(byKey[keys.sessions.app].alarm_at).toBeTypeOf('number');
    expect(byKey[keys.sessions.recs].kv.user_key).toBe(keys.user);
    expect(byKey[keys.sessions.web].recent.map((r: any) => r.item_id)).toContain('skincare-2');
    expect(doc.recommendations_served.map((r: any) => r.recommendation_id).sort()).toEqual([...aliceRecIds].sort());
    expect(doc.recommendations_served.find((r: any) => r.recommendation_id === aliceRecIds[0])).toMatchObject({ unit_key: keys.user, clicked_at: expect.any(Number), converted_at: expect.any(Number) });
    expect(doc.attributed_purchases).toEqual([expect.objectContaining({ recommendation_id: aliceRecIds[0], value: 25 })]);
    expect(Array.isArray(doc.segments)).toBe(true);
    // Bob's data is not in Alice's export.
    expect(doc.events.every((e: any) => e.user_key === keys.user || e.user_key === null)).toBe(true);
  });

  it('finds an anonymous shopper by session id', async () => {
    const doc = await exportOf({ session_ids: [S.anon] });
    expect(doc.subject).toEqual({ user_key: null, session_keys: [keys.sessions.anon] });
    expect(doc.events).toHaveLength(2);
    expect(doc.profile).toBeNull();
    expect(doc.sessions[0].state.recent.map((r: any) => r.item_id)).toEqual(['haircare-2', 'haircare-1']);
  });
});

describe('right to erasure', () => {
  let bobBefore: any;
  let d1Before: Record<string, string>;
  let receipt: any;

  beforeAll(async () => {
    bobBefore = await exportOf({ user_id: BOB });
    d1Before = await d1Dump();
    // Alice is really there before the erasure: the search below can find her.
    expect(found(Object.values(d1Before).join('\n')).length).toBeGreaterThan(5);
    expect(found(Object.values(await r2Dump()).join('\n'))).toContain(keys.user);
    receipt = await erase(ALICE_REQUEST);
  });

  it('returns a receipt with pseudonymous keys only and what was deleted where', () => {
    expect(receipt.receipt_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(receipt.erased_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(receipt)).not.toContain(ALICE);
    expect(receipt.subject.user_key).toBe(keys.user);
    expect(receipt.subject.session_keys.sort()).toEqual([keys.sessions.old, keys.sessions.web, keys.sessions.app, keys.sessions.recs].sort());
    // Her events are in the R2 log only (none in D1's legacy event table).
    expect(receipt.d1).toMatchObject({ events: 0, profiles: 1, rec_served: 2, rec_purchases: 1, shopper_sessions: 4 });
    // Objects: her own in each of her 4 sessions, and the named web session's anonymous one.
    // Alarms: the app session's pending profile flush, and the retention expiry of every other
    // object, the recommendations-only one included (it caches her profile).
    expect(receipt.durable_objects).toMatchObject({ sessions_erased: 5, pending_profile_events: 2, alarms_cleared: 5 });
    expect(receipt.durable_objects.rows).toBeGreaterThan(10);
    // One log object per queue message: her 4 batches were hers alone, so their objects are deleted.
    expect(receipt.r2.objects_deleted).toBe(4);
    expect(receipt.r2.rows_removed).toBe(aliceExported);
  });

  it('leaves no trace in any D1 table', async () => {
    const after = await d1Dump();
    for (const [table, rows] of Object.entries(after)) expect(found(rows), `table ${table}`).toEqual([]);
    // The receipt log records the erasure without saying whose it was.
    expect(after.erasure_receipts).toContain(receipt.receipt_id);
  });

  it("leaves every one of her session objects empty, with no alarm that could re-create the profile", async () => {
    // Her own object in each session, and the anonymous part of the session her request named.
    const objects = [...(['old', 'web', 'app', 'recs'] as const).map((k) => [k, keys.user] as const), ['web', null] as const];
    for (const [k, userKey] of objects) {
      const stub = sessionStub(env, keys.sessions[k], userKey);
      const dump = await doDump(stub);
      expect(dump.rows, `session ${k}`).toBe(0);
      expect(dump.alarm, `session ${k}`).toBeNull();
      expect(await runDurableObjectAlarm(stub)).toBe(false);
    }
    const profile = await env.DB.prepare('SELECT * FROM profiles WHERE user_key = ?').bind(keys.user).first();
    expect(profile).toBeNull();
    // Nor does the operations object hold anything of hers.
    expect(found((await doDump(opsStub(env) as unknown as DurableObjectStub)).text)).toEqual([]);
  });

  it("leaves no trace in any R2 object, and the log's manifest matches the objects left", async () => {
    const objects = await r2Dump();
    for (const [key, text] of Object.entries(objects)) expect(found(text), key).toEqual([]);
    const parts = (
      await env.DB.prepare('SELECT key, rows, views, clicks, carts, purchases, impressions FROM event_log_objects').all<{ key: string; rows: number; views: number; clicks: number; carts: number; purchases: number; impressions: number }>()
    ).results;
    expect(parts.length).toBeGreaterThan(0);
    for (const p of parts) {
      const obj = await env.EXPORTS.get(p.key);
      expect(obj, p.key).not.toBeNull();
      expect(Number(obj!.customMetadata!.rows)).toBe(p.rows);
      const lines = (await gunzip(await obj!.arrayBuffer())).trimEnd().split('\n');
      expect(lines).toHaveLength(p.rows);
      // The counts by type (admin stats) follow the rewritten object too.
      const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
      const n = (t: string) => types.filter((x) => x === t).length;
      expect([p.views, p.clicks, p.carts, p.purchases, p.impressions], p.key).toEqual([n('view'), n('click'), n('add_to_cart'), n('purchase'), n('impression')]);
    }
  });

  it("leaves other shoppers' data as it was", async () => {
    const bobAfter = await exportOf({ user_id: BOB });
    expect({ ...bobAfter, generated_at: 0 }).toEqual({ ...bobBefore, generated_at: 0 });
    expect(bobAfter.events).toHaveLength(3);
    expect(bobAfter.profile).toMatchObject({ purchase_count: 1 });
    expect((await doDump(sessionStub(env, keys.sessions.bob, await pseudonymize(env, 'u', BOB)))).rows).toBeGreaterThan(0);
    const anon = await exportOf({ session_ids: [S.anon] });
    expect(anon.events).toHaveLength(2);
  });

  it('exports nothing afterwards, and erasing again finds nothing left', async () => {
    const doc = await exportOf({ user_id: ALICE, session_ids: [S.web, S.app, S.old, S.recs] });
    expect(doc).toMatchObject({ profile: null, sessions: [], events: [], recommendations_served: [], attributed_purchases: [], segments: [] });
    const again = await erase({ user_id: ALICE, session_ids: [S.web] });
    expect(again.receipt_id).not.toBe(receipt.receipt_id);
    expect(Object.values(again.d1).every((n) => n === 0)).toBe(true);
    expect(again.durable_objects).toMatchObject({ rows: 0, pending_profile_events: 0, alarms_cleared: 0 });
    expect(again.r2).toMatchObject({ objects_rewritten: 0, objects_deleted: 0, rows_removed: 0 });
  });

  it('erases an anonymous shopper by session id', async () => {
    const r = await erase({ session_ids: [S.anon] });
    expect(r.subject).toEqual({ user_key: null, session_keys: [keys.sessions.anon] });
    expect(r.d1.events + r.r2.rows_removed).toBeGreaterThanOrEqual(2);
    expect((await doDump(sessionStub(env, keys.sessions.anon, null))).rows).toBe(0);
    const left = [...Object.values(await d1Dump()), ...Object.values(await r2Dump())].join('\n');
    expect(found(left, [keys.sessions.anon])).toEqual([]);
  });

  it('covers events still waiting in the event buffer (held while the queue was failing)', async () => {
    const carol = `carol-${run}`;
    const userKey = await pseudonymize(env, 'u', carol);
    const sessionKey = await pseudonymize(env, 's', `carol-web-${run}`);
    const row = (i: number) => ({ eventId: `carol-${run}-${i}`, type: 'view' as const, itemId: 'makeup-1', sessionKey, userKey: i ? userKey : null, ts: Date.now(), receivedAt: Date.now() });
    const other = { ...row(9), eventId: `not-carol-${run}`, sessionKey: 's_someone-else', userKey: null };
    await bufferStub(env).hold(toMessages([row(0), row(1), other], Date.now()));
    const before = await exportOf({ user_id: carol, session_ids: [`carol-web-${run}`] });
    expect(before.events.map((e: any) => e.event_id).sort()).toEqual([`carol-${run}-0`, `carol-${run}-1`]);
    const r = await erase({ user_id: carol, session_ids: [`carol-web-${run}`] });
    expect(r.durable_objects.buffered_events).toBe(2);
    expect(await bufferStub(env).heldFor(userKey, [sessionKey])).toEqual([]);
    expect((await bufferStub(env).heldFor(null, ['s_someone-else'])).map((e) => e.eventId)).toEqual([`not-carol-${run}`]);
  });
});

describe('erasure and the events queue', () => {
  /** The worker's queue() handler on messages accepted earlier and delivered now. */
  async function deliver(messages: EventMessage[]) {
    const batch = createMessageBatch<EventMessage>('p13n-events', messages.map((body, i) => ({ id: `q-${body.claim}-${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    return getQueueResult(batch, ctx);
  }

  it("drops the shopper's events still queued when the erasure ran, keeps others' in the same message and the shopper's later ones", async () => {
    const dave = `dave-${run}`;
    const userKey = await pseudonymize(env, 'u', dave);
    const sessionKey = await pseudonymize(env, 's', `dave-web-${run}`);
    const otherKey = await pseudonymize(env, 's', `erin-web-${run}`);
    // Already logged before the erasure.
    await track([event('view', 'makeup-1', `dave-web-${run}`)], dave);
    // Accepted before the erasure, still in the queue while it runs: Dave's and Erin's rows in one message.
    const acceptedAt = Date.now();
    const row = (id: string, sk: string, uk: string | null, at = acceptedAt) => ({ eventId: id, type: 'view' as const, itemId: 'makeup-2', sessionKey: sk, userKey: uk, ts: at - 10, receivedAt: at });
    const queued = toMessages([row(`dave-q-${run}-1`, sessionKey, userKey), row(`dave-q-${run}-2`, sessionKey, null), row(`erin-q-${run}`, otherKey, null)], acceptedAt);
    expect(queued).toHaveLength(1);

    const receipt = await erase({ user_id: dave, session_ids: [`dave-web-${run}`] });
    expect(receipt.r2.rows_removed).toBe(1);
    const result = await deliver(queued);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);

    const logged = await logEvents();
    expect(logged.filter((r) => r.session_key === sessionKey || r.user_key === userKey)).toEqual([]);
    expect(logged.filter((r) => r.event_id === `erin-q-${run}`)).toHaveLength(1);
    // Nor did the queued rows re-create his session object or the user → session index.
    for (const uk of [userKey, null]) expect((await doDump(sessionStub(env, sessionKey, uk))).rows).toBe(0);
    expect(await env.DB.prepare('SELECT 1 FROM shopper_sessions WHERE user_key = ?1').bind(userKey).first()).toBeNull();
    // The tombstones name no key (digests only).
    expect(found(JSON.stringify((await env.DB.prepare('SELECT * FROM erasure_tombstones').all()).results), [userKey, sessionKey])).toEqual([]);

    // Events accepted after the erasure started are new activity, and are kept.
    const later = Date.now() + 1;
    expect((await deliver(toMessages([row(`dave-new-${run}`, sessionKey, null, later)], later))).explicitAcks).toHaveLength(1);
    expect((await logEvents()).filter((r) => r.event_id === `dave-new-${run}`)).toHaveLength(1);
  });
});

describe('the rights endpoints', () => {
  it('refuse everything without the admin token', async () => {
    for (const path of ['/v1/admin/shoppers/erase', '/v1/admin/shoppers/export']) {
      const res = await fetchWorker(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: BOB }) });
      expect(res.status).toBe(401);
    }
    expect((await exportOf({ user_id: BOB })).events).toHaveLength(3);
  });

  it('answer 400 naming the problem for bodies that do not name a shopper', async () => {
    const cases: [unknown, string][] = [
      [{}, 'user_id and/or session_ids'],
      [{ user_id: '' }, 'user_id'],
      [{ userId: BOB }, 'userId'],
      [{ session_ids: [] }, 'session_ids'],
      [{ session_ids: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'session_ids'],
      [{ user_id: 42 }, 'user_id'],
    ];
    for (const [body, mention] of cases) {
      for (const path of ['/v1/admin/shoppers/erase', '/v1/admin/shoppers/export']) {
        const r = await admin(path, 'POST', body);
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(mention);
      }
    }
    const notJson = await call('/v1/admin/shoppers/erase', { method: 'POST', headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"user_id":' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).error.code).toBeTypeOf('string');
    // Nothing was erased by the refused calls.
    expect((await exportOf({ user_id: BOB })).events).toHaveLength(3);
  });

  it('are documented in the OpenAPI document', async () => {
    const doc = (await (await fetchWorker('/openapi.json')).json()) as any;
    expect(doc.paths['/v1/admin/shoppers/erase'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/v1/admin/shoppers/export'].post.requestBody.content['application/json'].schema.$ref).toContain('ShopperRequest');
    expect(doc.components.schemas.ErasureReceipt.properties).toHaveProperty('r2');
  });
});
