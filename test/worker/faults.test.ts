/**
 * Faults: each dependency fails in turn (D1, the model in R2, inference, the session Durable
 * Object, the storefront origin) and the worker degrades the way docs/reliability.md says:
 * fallback content, the right status codes, health naming the problem, and no accepted event
 * lost. Failures are produced by breaking the real thing (R2 objects, model artifacts) or by a
 * failing proxy around the real binding, handed to the worker's own fetch handler.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUFFER_SHARDS, bufferShard, bufferStub } from '../../worker/events/buffer-client';
import { toMessages } from '../../worker/events/message';
import { ADMIN, adminJson, event, fixtureCatalog, seedCatalog, waitForLog } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { call as callWorker, runCron, type EnvOverride } from './ops-helpers';
import { originPage, releaseOrigin, slot, storePage } from './rewrite-helpers';

type Mode = 'ok' | 'error' | 'hang' | 'lost';

/**
 * The real D1 binding behind a switch: 'error' rejects every call, 'hang' never settles,
 * 'lost' runs the call and then fails it (the write happened, the answer never arrived).
 */
function faultyD1(real: D1Database) {
  const ctl = { mode: 'ok' as Mode };
  const fail = (): Promise<never> => (ctl.mode === 'hang' ? new Promise<never>(() => {}) : Promise.reject(new Error('D1_ERROR: injected failure')));
  const guard = <T>(run: () => Promise<T>): Promise<T> => {
    if (ctl.mode === 'ok') return run();
    if (ctl.mode === 'lost') return run().then(fail);
    return fail();
  };
  const stmt = (inner: D1PreparedStatement): D1PreparedStatement =>
    ({
      inner,
      bind: (...v: unknown[]) => stmt(inner.bind(...v)),
      first: (col?: string) => guard(() => (col === undefined ? inner.first() : inner.first(col))),
      run: () => guard(() => inner.run()),
      all: () => guard(() => inner.all()),
      raw: (o?: { columnNames?: boolean }) => guard(() => inner.raw(o as { columnNames: true })),
    }) as unknown as D1PreparedStatement;
  const binding = {
    prepare: (q: string) => stmt(real.prepare(q)),
    batch: (s: D1PreparedStatement[]) => guard(() => real.batch(s.map((x) => (x as unknown as { inner: D1PreparedStatement }).inner))),
    exec: (q: string) => guard(() => real.exec(q)),
  } as unknown as D1Database;
  return { ctl, binding };
}

/** A session namespace whose objects throw, or never answer. */
function faultySessions(mode: 'error' | 'hang'): DurableObjectNamespace {
  const fail = () => (mode === 'error' ? Promise.reject(new Error('session object crashed')) : new Promise(() => {}));
  return {
    idFromName: (n: string) => env.SESSIONS.idFromName(n),
    get: () => ({ features: fail, claim: fail }),
  } as unknown as DurableObjectNamespace;
}

type Override = EnvOverride;

/** The worker's own fetch handler with some bindings replaced (ops-helpers' call, override first). */
const call = (path: string, override: Override = {}, init: RequestInit = {}): Promise<Response> => callWorker(path, init, override);

const json = async (res: Response) => (await res.json()) as any;
const health = async (override: Override = {}) => json(await call('/v1/admin/health', override, { headers: ADMIN }));
const postBatch = (events: unknown[], override: Override = {}) =>
  call('/v1/events', override, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });

/** How often each id is in the R2 event log, once the consumer has logged them all. */
async function storedCount(ids: string[]): Promise<Map<string, number>> {
  const rows = await waitForLog(ids);
  const out = new Map<string, number>();
  for (const r of rows) if (ids.includes(r.event_id)) out.set(r.event_id, (out.get(r.event_id) ?? 0) + 1);
  return out;
}

/** The real queue binding behind a switch: 'error' refuses sends, 'lost' sends and then fails the call. */
function faultyQueue(real: Queue) {
  const ctl = { mode: 'ok' as 'ok' | 'error' | 'lost' };
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    if (ctl.mode === 'error') throw new Error('Queue send failed: injected');
    const r = await run();
    if (ctl.mode === 'lost') throw new Error('Queue send: answer lost');
    return r;
  };
  const binding = {
    send: (body: unknown, o?: QueueSendOptions) => guard(() => real.send(body, o)),
    sendBatch: (m: Iterable<MessageSendRequest>, o?: QueueSendBatchOptions) => guard(() => real.sendBatch(m, o)),
  } as unknown as Queue;
  return { ctl, binding };
}

const popular = (n: number) =>
  fixtureCatalog()
    .sort((a, b) => b.popularity - a.popularity)
    .slice(0, n)
    .map((i) => i.item_id);

beforeAll(() => seedCatalog());

describe('D1 errors and time-outs', () => {
  for (const mode of ['error', 'hang'] as const) {
    it(`${mode}: a warm isolate keeps answering recommendations from its in-memory catalog; health says D1 is unreachable`, async () => {
      const d1 = faultyD1(env.DB);
      expect((await call('/v1/recommendations?slot=d1-warm&k=4', { DB: d1.binding })).status).toBe(200);
      d1.ctl.mode = mode;
      const broken: Override = { DB: d1.binding, D1_TIMEOUT_MS: '200' };
      const res = await call('/v1/recommendations?slot=d1-warm&k=4&session_id=d1-s', broken);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.fallback).toBe(true);
      expect(body.items.map((i: any) => i.item_id)).toEqual(popular(4));
      const h = await health(broken);
      expect(h.status).toBe('degraded');
      expect(h.reasons).toContain('d1_unreachable');
      expect(h.storage.d1.ok).toBe(false);
      // The public probe stays trivial: no internals, no error text.
      const pub = await call('/health', broken);
      expect(pub.status).toBe(200);
      expect(await pub.json()).toEqual({ status: 'ok' });
    });

    it(`${mode}: with no catalog in memory, recommendations and blocks answer 503 JSON with Retry-After, never a hang or a stack`, async () => {
      const d1 = faultyD1(env.DB);
      d1.ctl.mode = mode;
      const broken: Override = { DB: d1.binding, D1_TIMEOUT_MS: '200' };
      for (const path of ['/v1/recommendations?slot=d1-cold&k=3', '/v1/blocks/d1-cold?k=3']) {
        const res = await call(path, broken);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        const body = await json(res);
        expect(body.error.code).toBe('unavailable');
        expect(JSON.stringify(body)).not.toMatch(/injected|D1_ERROR|at .*\.ts/);
      }
      // Admin writes cannot be done: 503 too, so the operator retries.
      const patch = await call('/v1/admin/catalog/skincare-1', broken, { method: 'PATCH', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '{"in_stock":false}' });
      expect(patch.status).toBe(503);
      expect((await json(patch)).error.code).toBe('unavailable');
      // A caller's mistake is still a 400, not a 503.
      expect((await call('/v1/recommendations?k=3', broken)).status).toBe(400);
    });
  }
});

describe('no accepted event is lost when the events queue fails', () => {
  it('batches held while the queue fails spread over the buffer shards, and read as one buffer', async () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ eventId: `shard-${i}`, type: 'view' as const, itemId: 'makeup-1', sessionKey: 's_shard-test', userKey: null, ts: Date.now(), receivedAt: Date.now() }));
    for (const r of rows(12)) await bufferStub(env).hold(toMessages([r], Date.now()));
    const perShard = await Promise.all(Array.from({ length: BUFFER_SHARDS }, (_, i) => bufferShard(env, i).status()));
    expect(perShard.filter((s) => s.pending > 0).length).toBeGreaterThan(1);
    expect((await bufferStub(env).status()).pending).toBe(12);
    expect(await bufferStub(env).erase(null, ['s_shard-test'])).toBe(12);
  });

  it('buffers a batch the queue refused (202 buffered), and after recovery the log holds every event exactly once, resends included', async () => {
    const q = faultyQueue(env.EVENTS_QUEUE);
    const broken: Override = { EVENTS_QUEUE: q.binding };
    const before = event('view', 'skincare-3', 'buf-s');
    expect((await json(await postBatch([before]))).accepted).toBe(1);

    q.ctl.mode = 'error';
    const batch = [before, ...['skincare-4', 'makeup-5', 'haircare-6', 'fragrance-7'].map((id) => event('click', id, 'buf-s', { user_id: 'buf-user' }))];
    const res = await postBatch([...batch, { event_id: 'bad', type: 'nope' }], broken);
    expect(res.status).toBe(202);
    const body = await json(res);
    // The session object already holds `before`: the inline claim reports it as a duplicate.
    expect(body).toMatchObject({ accepted: 0, buffered: 4, duplicates: 1 });
    expect(body.rejected.map((r: any) => r.event_id)).toEqual(['bad']);
    // A client retry while the queue is still down is buffered again (a new message)...
    expect((await json(await postBatch(batch, broken))).duplicates).toBe(5);

    const ids = batch.map((e) => e.event_id);
    let h = await health(broken);
    expect(h.reasons).toContain('events_buffered');
    expect(h.events).toMatchObject({ ok: true, pending: 10 });
    // Buffered messages hold pseudonymous keys only.
    const held = await runInBuffer();
    expect(held).not.toContain('buf-user');
    expect(held).not.toContain('"buf-s"');

    // The queue is back (the buffer sends through the real binding): ...but each id is stored once.
    const alarms = [];
    for (let i = 0; i < BUFFER_SHARDS; i++) alarms.push(await runDurableObjectAlarm(bufferShard(env, i)));
    expect(alarms).toContain(true); // the shards that held batches sent them
    const counts = await storedCount(ids);
    expect(ids.map((id) => counts.get(id))).toEqual([1, 1, 1, 1, 1]);
    h = await health();
    expect(h.reasons).not.toContain('events_buffered');
    expect(h.events.pending).toBe(0);
    // The session object learned the buffered events inline, before the answer.
    const recs = await json(await call('/v1/recommendations?slot=home&k=4&session_id=buf-s&user_id=buf-user'));
    expect(recs.items.some((i: any) => /^Because you /.test(i.reason))).toBe(true);
  });

  it('a send whose answer was lost is buffered and sent again, and the log still holds each event once; the frequent cron drains the buffer', async () => {
    const q = faultyQueue(env.EVENTS_QUEUE);
    q.ctl.mode = 'lost';
    const batch = [event('purchase', 'skincare-9', 'lost-s', { value: 9 }), event('view', 'skincare-8', 'lost-s')];
    const res = await postBatch(batch, { EVENTS_QUEUE: q.binding });
    expect(res.status).toBe(202);
    await runCron('*/5 * * * *');
    expect((await bufferStub(env).status()).pending).toBe(0);
    const ids = batch.map((e) => e.event_id);
    const counts = await storedCount(ids);
    expect(ids.map((id) => counts.get(id))).toEqual([1, 1]);
  });

  it('when the buffer cannot take the batch either, the answer is 503 (nothing accepted), so the client retries', async () => {
    const q = faultyQueue(env.EVENTS_QUEUE);
    q.ctl.mode = 'error';
    const noBuffer = { idFromName: (n: string) => env.EVENT_BUFFER.idFromName(n), get: () => ({ hold: () => Promise.reject(new Error('buffer down')) }) };
    const batch = [event('view', 'makeup-1', 'nobuf-s')];
    const res = await postBatch(batch, { EVENTS_QUEUE: q.binding, EVENT_BUFFER: noBuffer });
    expect(res.status).toBe(503);
    expect((await json(res)).error.code).toBe('unavailable');
    // The session object's inline claim (run alongside the send) was released: the resend is new, and logged.
    expect(await json(await postBatch(batch))).toMatchObject({ accepted: 1, duplicates: 0 });
    expect((await storedCount([batch[0]!.event_id])).get(batch[0]!.event_id)).toBe(1);
  });

  it('a failing session object does not lose events: they are queued, counted accepted and logged by the consumer', async () => {
    const batch = [event('view', 'haircare-1', 'so-s'), event('click', 'haircare-2', 'so-s')];
    const res = await postBatch(batch, { SESSIONS: faultySessions('error') });
    expect(res.status).toBe(200);
    expect((await json(res)).accepted).toBe(2);
    const counts = await storedCount(batch.map((e) => e.event_id));
    expect(counts.size).toBe(2);
  });

  it('D1 failing does not touch ingestion: events are accepted and logged', async () => {
    const d1 = faultyD1(env.DB);
    d1.ctl.mode = 'error';
    const batch = [event('view', 'makeup-8', 'd1-down-s'), event('view', 'makeup-9', 'd1-down-s')];
    const res = await postBatch(batch, { DB: d1.binding });
    expect(res.status).toBe(200);
    expect((await json(res)).accepted).toBe(2);
    expect((await storedCount(batch.map((e) => e.event_id))).size).toBe(2);
  });
});

/** The buffer's stored messages as text (to check what it keeps at rest). */
async function runInBuffer(): Promise<string> {
  const { runInDurableObject } = await import('cloudflare:test');
  const held = [];
  for (let i = 0; i < BUFFER_SHARDS; i++) held.push(await runInDurableObject(bufferShard(env, i), async (_obj, state) => state.storage.sql.exec('SELECT * FROM messages').toArray()));
  return JSON.stringify(held.flat());
}

describe('session object throws or is slow', () => {
  for (const mode of ['error', 'hang'] as const) {
    it(`${mode}: recommendations still answer, as for an unknown shopper, and health names the session object`, async () => {
      const res = await call('/v1/recommendations?slot=so-slot&k=5&session_id=so-shopper', { SESSIONS: faultySessions(mode), SESSION_BUDGET_MS: '150' });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.items.map((i: any) => i.item_id)).toEqual(popular(5));
      const h = await health();
      expect(h.reasons).toContain('session_object_errors');
      expect(h.faults.session_object.last_error).toMatch(mode === 'error' ? /crashed/ : /did not answer within 150 ms/);
    });
  }
});

describe('model faults', () => {
  const { onnx, manifest, brokenRank, catalog } = demoModel();

  it('a model corrupted in R2 is refused (checksum), the popular fallback serves, and health reports it', async () => {
    await registerModel('faulty-corrupt', onnx, manifest);
    const bad = onnx.slice();
    const mid = bad.length >> 1;
    bad[mid] = bad[mid]! ^ 0xff;
    await env.MODELS.put('models/faulty-corrupt/rank.onnx', bad);
    expect((await activate('faulty-corrupt')).status).toBe(200);
    const body = await json(await call('/v1/recommendations?slot=m-slot&k=3'));
    expect(body).toMatchObject({ fallback: true, strategy: 'popular', model_version: null });
    expect(body.items).toHaveLength(3);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.reasons).toEqual(expect.arrayContaining(['model_not_loaded', 'model_load_error']));
    expect(h.model.lastError).toMatch(/checksum mismatch for rank graph of model faulty-corrupt/);
  });

  it('a model missing from R2 is reported and the fallback serves', async () => {
    await registerModel('faulty-missing', onnx, manifest);
    await env.MODELS.delete('models/faulty-missing/rank.onnx');
    expect((await activate('faulty-missing')).status).toBe(200);
    const body = await json(await call('/v1/recommendations?slot=m-slot&k=3'));
    expect(body).toMatchObject({ fallback: true, strategy: 'popular' });
    expect((await health()).model.lastError).toMatch(/rank graph of model faulty-missing missing in R2/);
  });

  it('a model that loads but fails at inference: the fallback serves, and health reports inference errors', async () => {
    // A rank graph that expects one feature more than the contract's: it loads, every run fails
    // (on candidates from the model's own catalog).
    await seedCatalog(catalog);
    await registerModel('faulty-infer', brokenRank, manifest);
    expect((await activate('faulty-infer')).status).toBe(200);
    const res = await call('/v1/recommendations?slot=m-slot&k=3');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ fallback: true, strategy: 'popular', model_version: null });
    expect(body.items).toHaveLength(3);
    const h = await health();
    expect(h.model.version).toBe('faulty-infer');
    expect(h.reasons).toContain('inference_errors');
    expect(h.faults.inference.last_error).toMatch(/faulty-infer/);
    // A good model again: served by the model.
    await registerModel('faulty-good', onnx, manifest);
    expect((await activate('faulty-good')).status).toBe(200);
    expect((await json(await call('/v1/recommendations?slot=m-slot&k=3'))).model_version).toBe('faulty-good');
  });
});

describe('origin faults in proxy mode', () => {
  it('an origin 5xx passes through untouched (status, headers, body), slots unfilled; health notes it', async () => {
    const page = storePage(slot('o5-slot', { k: 2 }) + '<p>maintenance</p>');
    await originPage('/o5xx', { status: 503, headers: [['content-type', 'text/html; charset=utf-8'], ['retry-after', '120']], chunks: [page] });
    const res = await call('/o5xx', {}, { headers: { accept: 'text/html', cookie: 'p13n_consent=granted' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('120');
    expect(await res.text()).toBe(page);
    expect((await health()).faults.origin.last_error).toMatch(/503/);
  });

  it('an origin that sends no headers in time: 504, as a page for browsers and JSON for API clients, never a hang', async () => {
    await originPage('/o-slow', { holdHeaders: true, chunks: [storePage('<p>late</p>')] });
    try {
      const slow: Override = { ORIGIN_TIMEOUT_MS: '300' };
      const html = await call('/o-slow', slow, { headers: { accept: 'text/html' } });
      expect(html.status).toBe(504);
      expect(html.headers.get('content-type')).toContain('text/html');
      expect(await html.text()).toMatch(/Gateway time-out[\s\S]*did not answer within 300 ms/);
      const api = await call('/o-slow', slow, { headers: { accept: 'application/json' } });
      expect(api.status).toBe(504);
      expect((await json(api)).error.code).toBe('origin_timeout');
      const h = await health();
      expect(h.reasons).toContain('origin_errors');
      expect(h.faults.origin.last_error).toMatch(/did not answer within 300 ms/);
    } finally {
      await releaseOrigin('/o-slow');
      await releaseOrigin('/o-slow');
    }
  });

  it('an origin that cannot be reached: 502 JSON naming the problem', async () => {
    const res = await call('/anything', { ORIGIN_URL: 'ftp://origin.invalid', ORIGIN_CACHE: '0' }, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(502);
    expect((await json(res)).error).toMatchObject({ code: 'origin_unreachable', message: 'the storefront origin could not be reached' });
  });
});

it('admin health without a token is refused even while dependencies fail', async () => {
  const d1 = faultyD1(env.DB);
  d1.ctl.mode = 'error';
  const res = await call('/v1/admin/health', { DB: d1.binding });
  expect(res.status).toBe(401);
  expect((await json(res)).error.code).toBe('unauthorized');
  expect((await adminJson('/v1/admin/health', 'GET')).status).toBe(200);
});
