/**
 * The event data plane (issue 12): POST /v1/events → Cloudflare Queue → consumer → R2 log, with
 * exactly-once per (session, event_id). Real local Queues, R2, D1 and Durable Objects: the queue
 * delivers to the worker's own queue() handler, or a test hands the handler a batch itself
 * (createMessageBatch) to redeliver a message or crash mid-batch.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../../worker/index';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { logKey } from '../../worker/events/log-store';
import { toMessages, type EventMessage } from '../../worker/events/message';
import { sessionStub } from '../../worker/session/client';
import type { EventRow } from '../../worker/db/schema';
import { adminJson, event, logEvents, postEvents, recommendations, seedCatalog, waitForLog } from './helpers';
import './event-costs.cases';

beforeAll(() => seedCatalog());

const count = (rows: Record<string, any>[], id: string, sessionKey?: string) => rows.filter((r) => r.event_id === id && (!sessionKey || r.session_key === sessionKey)).length;

/** Run the worker's queue() handler on these messages as one delivery; returns acks and retries. */
async function deliver(messages: EventMessage[], override: Partial<Env> = {}, attempts = 1) {
  const batch = createMessageBatch<EventMessage>(
    'p13n-events',
    messages.map((body, i) => ({ id: `m-${body.claim}-${i}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...override } as Env, ctx);
  return getQueueResult(batch, ctx);
}

async function rowsFor(session: string, n: number, prefix: string): Promise<EventRow[]> {
  const sessionKey = await pseudonymize(env, 's', session);
  return Array.from({ length: n }, (_, i) => ({ eventId: `${prefix}-${i}`, type: 'view' as const, itemId: `skincare-${i}`, sessionKey, userKey: null, ts: Date.now() - 1000 + i, receivedAt: Date.now() }));
}

describe('the R2 event log', () => {
  it('holds every posted event exactly once, after the real queue delivered it (a backend batch of 100 events from 100 sessions)', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => event('view', `makeup-${i % 30}`, `backend-s-${i}`));
    const res = await postEvents(batch);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(100);
    const rows = await waitForLog(batch.map((e) => e.event_id));
    expect(batch.map((e) => count(rows, e.event_id))).toEqual(batch.map(() => 1));
    // Lines carry the old export columns with pseudonymous keys only.
    const line = rows.find((r) => r.event_id === batch[0]!.event_id)!;
    expect(Object.keys(line).sort()).toEqual(['event_id', 'item_id', 'received_at', 'recommendation_id', 'session_key', 'slot', 'ts', 'type', 'user_key', 'value']);
    expect(line.session_key).toBe(await pseudonymize(env, 's', 'backend-s-0'));
    // The consumer fed the session objects of the multi-session batch.
    const f = await sessionStub(env, line.session_key, null).features(null);
    expect(f.recent.map((r) => r.itemId)).toEqual([batch[0]!.item_id]);
  });

  it('is hourly partitioned and gzip-compressed, named by the message claim', async () => {
    const [m] = toMessages(await rowsFor('layout-s', 3, `layout-${Date.now()}`), Date.UTC(2026, 10, 23, 7, 15));
    expect(logKey(m!.claim, m!.receivedAt)).toBe(`events/dt=2026-11-23/hr=07/${m!.claim}.ndjson.gz`);
    expect(await deliver([m!])).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
    const obj = await env.EXPORTS.get(logKey(m!.claim, m!.receivedAt));
    expect(obj?.httpMetadata?.contentEncoding).toBe('gzip');
    expect(obj?.customMetadata?.rows).toBe('3');
  });

  it('a redelivered message and a retried request store nothing twice', async () => {
    const tag = `redeliver-${Date.now()}`;
    const [m] = toMessages(await rowsFor('redeliver-s', 5, tag), Date.now());
    await deliver([m!]);
    const first = await env.EXPORTS.get(logKey(m!.claim, m!.receivedAt)).then((o) => o!.arrayBuffer());
    // The same message again (the queue redelivers after a lost ack), with a fresh one beside it.
    const [other] = toMessages(await rowsFor('redeliver-other-s', 2, `${tag}-o`), Date.now());
    expect((await deliver([m!, other!], {}, 2)).retryMessages).toEqual([]);
    const again = await env.EXPORTS.get(logKey(m!.claim, m!.receivedAt)).then((o) => o!.arrayBuffer());
    expect(new Uint8Array(again)).toEqual(new Uint8Array(first));
    // A client resending the same events makes a new message (new claim): nothing is written for it.
    const [resent] = toMessages(m!.rows, Date.now());
    await deliver([resent!]);
    expect(await env.EXPORTS.head(logKey(resent!.claim, resent!.receivedAt))).toBeNull();
    const rows = await logEvents();
    for (let i = 0; i < 5; i++) expect(count(rows, `${tag}-${i}`)).toBe(1);
    for (let i = 0; i < 2; i++) expect(count(rows, `${tag}-o-${i}`)).toBe(1);
  });

  it('a consumer that fails mid-batch retries only what it could not store, and the retry stores each event once', async () => {
    const tag = `crash-${Date.now()}`;
    const msgs = [...toMessages(await rowsFor('crash-a', 3, `${tag}-a`), Date.now()), ...toMessages(await rowsFor('crash-b', 3, `${tag}-b`), Date.now())];
    // R2 refuses the second message's object: the first is written and acked, the second retried.
    const failing = {
      ...env.EXPORTS,
      put: (key: string, ...rest: Parameters<R2Bucket['put']> extends [unknown, ...infer R] ? R : never) =>
        key.includes(msgs[1]!.claim) ? Promise.reject(new Error('R2 down')) : env.EXPORTS.put(key, ...rest),
    } as unknown as R2Bucket;
    const r = await deliver(msgs, { EXPORTS: failing });
    expect(r.retryMessages.map((x: { msgId: string }) => x.msgId)).toEqual([`m-${msgs[1]!.claim}-1`]);
    // The queue delivers both again (as after a crash before any ack): every event once.
    expect((await deliver(msgs, {}, 2)).retryMessages).toEqual([]);
    const rows = await logEvents();
    for (const s of ['a', 'b']) for (let i = 0; i < 3; i++) expect(count(rows, `${tag}-${s}-${i}`)).toBe(1);
  });

  it('counts recommendation impressions and clicks (drift CTR) once per message, however often it is delivered', async () => {
    const rows = (await rowsFor('ctr-s', 3, `ctr-${Date.now()}`)).map((r, i) => ({ ...r, type: (i < 2 ? 'impression' : 'click') as EventRow['type'], recommendationId: 'rec-x' }));
    const [m] = toMessages(rows, Date.now());
    await deliver([m!]);
    await deliver([m!], {}, 2);
    const r = await env.DB.prepare('SELECT impressions, clicks FROM rec_ctr WHERE claim = ?').bind(m!.claim).all();
    expect(r.results).toEqual([{ impressions: 2, clicks: 1 }]);
    const listed = await env.DB.prepare('SELECT rows FROM event_log_objects WHERE key = ?').bind(logKey(m!.claim, m!.receivedAt)).all();
    expect(listed.results).toEqual([{ rows: 3 }]);
  });

  it('event ids named like Object.prototype members are stored once and listed, never failing the delivery', async () => {
    // "__proto__" as an event id once made the consumer's D1 batch throw for the whole delivery (fuzz suite).
    const ids = ['valueOf', '__proto__', 'constructor', 'toString'];
    const [base] = await rowsFor('proto-s', 1, 'proto');
    // A click on a recommendation, then purchases of the same item: "__proto__"'s last touch is the click's recommendation.
    const rows: EventRow[] = ids.map((eventId, i) => ({ ...base!, eventId, itemId: 'skincare-1', ts: base!.ts + i, type: i ? 'purchase' : 'click', recommendationId: i ? null : 'rec-proto' }));
    const [m] = toMessages(rows, Date.now());
    expect(await deliver([m!])).toMatchObject({ explicitAcks: [expect.any(String)], retryMessages: [] });
    const listed = await env.DB.prepare('SELECT rows FROM event_log_objects WHERE key = ?').bind(logKey(m!.claim, m!.receivedAt)).all();
    expect(listed.results).toEqual([{ rows: ids.length }]);
    const logged = await waitForLog(ids);
    expect(ids.map((id) => count(logged, id, rows[0]!.sessionKey))).toEqual(ids.map(() => 1));
    // The log keeps each event as sent (last-touch attribution goes to the experiment tables, not the log).
    const recOf = new Map(logged.filter((r) => r.session_key === base!.sessionKey).map((r) => [r.event_id as string, r.recommendation_id]));
    expect(ids.map((id) => recOf.get(id))).toEqual(['rec-proto', null, null, null]);
  });

  it("one shopper's event_id does not suppress another's", async () => {
    const id = `shared-id-${Date.now()}`;
    const mine = { ...event('view', 'haircare-1', 'shopper-one'), event_id: id };
    const theirs = { ...event('click', 'haircare-2', 'shopper-two'), event_id: id };
    expect((await postEvents([mine])).body.accepted).toBe(1);
    expect((await postEvents([theirs])).body).toMatchObject({ accepted: 1, duplicates: 0 });
    // The same id again in the first session is a duplicate.
    expect((await postEvents([mine])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    await waitForLog([id]);
    await expect.poll(async () => count(await logEvents(), id), { timeout: 10_000 }).toBe(2);
    const rows = await logEvents();
    expect(count(rows, id, await pseudonymize(env, 's', 'shopper-one'))).toBe(1);
    expect(count(rows, id, await pseudonymize(env, 's', 'shopper-two'))).toBe(1);
  });

  it('a browser-sized batch for one session is visible in the very next recommendation', async () => {
    const views = ['fragrance-20', 'fragrance-21', 'fragrance-22'].map((id) => event('view', id, 'beacon-s'));
    expect((await postEvents(views)).body.accepted).toBe(3);
    // No wait for the queue: the session object took the batch before the answer.
    const r = await recommendations({ slot: 'home', session_id: 'beacon-s', k: 5 });
    expect(r.body.items.every((i: any) => i.category === 'fragrance')).toBe(true);
    expect(r.body.items[0].reason).toMatch(/Because you viewed fragrance product/);
  });

  it('admin stats count events from the log manifest (rows and types per object) plus the legacy D1 table', async () => {
    const stats = async () => (await (await adminJson('/v1/admin/stats', 'GET')).json()) as any;
    const before = await stats();
    // A legacy row still in D1 (not yet drained) counts too.
    await env.DB.prepare("INSERT INTO events (event_id, type, item_id, session_key, ts, received_at) VALUES (?, 'purchase', 'skincare-1', 'legacy-s', ?, ?)").bind(`legacy-${Date.now()}`, Date.now(), Date.now()).run();
    const batch = [...Array.from({ length: 7 }, (_, i) => event('view', `skincare-${i}`, `stats-s-${i}`)), ...Array.from({ length: 3 }, (_, i) => event('click', `skincare-${i}`, `stats-s-${i}`))];
    expect((await postEvents(batch)).body.accepted).toBe(10);
    await waitForLog(batch.map((e) => e.event_id));
    const after = await stats();
    expect(after.events_total - before.events_total).toBe(11);
    expect(after.legacy_events - before.legacy_events).toBe(1);
    expect(after.event_log.events - before.event_log.events).toBe(10);
    expect(after.d1_bytes).toBeGreaterThan(0);
    expect((after.events_24h.view ?? 0) - (before.events_24h.view ?? 0)).toBe(7);
    expect((after.events_24h.click ?? 0) - (before.events_24h.click ?? 0)).toBe(3);
    expect((after.events_24h.purchase ?? 0) - (before.events_24h.purchase ?? 0)).toBe(1);
  });

  it('the test-only fault switch does not exist unless FAULT_INJECTION is on', async () => {
    expect(env.FAULT_INJECTION).toBe('off');
    expect((await adminJson('/v1/admin/faults', 'POST', { d1_outage_ms: 60_000 })).status).toBe(404);
    expect((await adminJson('/v1/admin/faults', 'GET')).status).toBe(404);
    expect((await postEvents([event('view', 'skincare-3', 'no-fault-s')])).body.accepted).toBe(1);
  });

  it('with FAULT_INJECTION on, an injected consumer crash processes the batch without acking it, and the redelivery stores nothing twice', async () => {
    const { setFaults, takeConsumerCrash } = await import('../../worker/ops/fault-injection');
    const on = { ...env, FAULT_INJECTION: 'on' } as unknown as Env;
    const tag = `inject-${Date.now()}`;
    const [m] = toMessages(await rowsFor('inject-s', 4, tag), Date.now());
    setFaults({ consumerCrashes: 1 });
    const batch = createMessageBatch<EventMessage>('p13n-events', [{ id: `m-${m!.claim}`, timestamp: new Date(), attempts: 1, body: m! }]);
    const ctx = createExecutionContext();
    await expect(worker.queue(batch, on, ctx)).rejects.toThrow(/injected consumer crash/);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([]);
    expect(takeConsumerCrash(on)).toBe(false);
    expect((await deliver([m!], {}, 2)).retryMessages).toEqual([]);
    const rows = await logEvents();
    for (let i = 0; i < 4; i++) expect(count(rows, `${tag}-${i}`)).toBe(1);
  });

  it('with FAULT_INJECTION on, an injected D1 outage fails the consumer\'s D1 batch (messages retried) until it ends', async () => {
    const { setFaults, withInjectedFaults } = await import('../../worker/ops/fault-injection');
    const on = withInjectedFaults({ ...env, FAULT_INJECTION: 'on' } as unknown as Env);
    const tag = `outage-${Date.now()}`;
    const [m] = toMessages(await rowsFor('outage-s', 3, tag), Date.now());
    setFaults({ d1OutageMs: 60_000 });
    try {
      await expect(on.DB.prepare('SELECT 1').first()).rejects.toThrow(/injected outage/);
      expect((await deliver([m!], { DB: on.DB })).retryMessages).toHaveLength(1);
    } finally {
      setFaults({ d1OutageMs: 0 });
    }
    expect((await deliver([m!], { DB: on.DB }, 2)).retryMessages).toEqual([]);
    const rows = await logEvents();
    for (let i = 0; i < 3; i++) expect(count(rows, `${tag}-${i}`)).toBe(1);
    const listed = await env.DB.prepare('SELECT rows, views, clicks, impressions FROM event_log_objects WHERE key = ?').bind(logKey(m!.claim, m!.receivedAt)).first();
    expect(listed).toEqual({ rows: 3, views: 3, clicks: 0, impressions: 0 });
  });
});
