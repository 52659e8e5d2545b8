/** The typed client (client/index.ts) against the running worker: every call goes through the worker's fetch handler. */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, P13nError } from '../../client';
import { fetchWorker, fixtureCatalog, seedCatalog } from './helpers';

const viaWorker = ((input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  return fetchWorker(url.pathname + url.search, input instanceof Request ? input : init);
}) as typeof fetch;

const p13n = createClient({ baseUrl: 'http://worker.test', fetch: viaWorker, adminToken: env.ADMIN_TOKEN });
const catalog = fixtureCatalog(10);

beforeAll(() => seedCatalog(catalog));

describe('client: reading', () => {
  it('asks for recommendations, a block, a batch, a rerank, similar items and trending', async () => {
    const recs = await p13n.recommendations({ slot: 'home', session_id: 'client-1', k: 3, category: ['makeup'] });
    expect(recs.items).toHaveLength(3);
    expect(recs.items.every((i) => i.category === 'makeup')).toBe(true);
    expect(await p13n.block('home', { k: 2 })).toContain('data-p13n-item');
    const { results } = await p13n.batch({ session_id: 'client-1', requests: [{ slot: 'a', k: 1 }, { slot: 'b', k: 2 }] });
    expect(results.map((r) => [r.slot, r.items.length])).toEqual([['a', 1], ['b', 2]]);
    const reranked = await p13n.rerank({ items: ['makeup-3', 'nope', 'skincare-1'] });
    expect(reranked.items.map((i) => i.item_id).sort()).toEqual(['makeup-3', 'skincare-1']);
    expect(reranked.unknown).toEqual(['nope']);
    expect((await p13n.similar('makeup-1', { k: 2 })).items).toHaveLength(2);
    expect((await p13n.trending({ category: 'haircare', k: 2 })).items.every((i) => i.category === 'haircare')).toBe(true);
  });

  it('turns a 400 into a P13nError naming the field', async () => {
    const err = await p13n.recommendations({ slot: 'home', k: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(P13nError);
    expect(err.status).toBe(400);
    expect(err.issues[0].field).toBe('k');
  });
});

describe('client: events', () => {
  const g = globalThis as any;
  afterEach(() => {
    delete g.navigator.sendBeacon;
  });

  it('batches tracked events and sends them at maxBatch or on flush', async () => {
    const tracker = p13n.events({ session_id: 'client-ev' }, { maxBatch: 3, flushMs: 60_000, beacon: false });
    for (const id of ['makeup-1', 'makeup-2']) tracker.track({ type: 'view', item_id: id });
    expect(tracker.pending).toBe(2);
    const [sent] = await tracker.flush();
    expect(sent!.accepted).toBe(2);
    expect(tracker.pending).toBe(0);
  });

  it("sends a session's stamp from its last batch with that session's next requests, and only with them", async () => {
    const sentStamps: [string, string | null][] = [];
    const watching = ((input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      if (new URL(req.url).pathname !== '/v1/events') sentStamps.push([String(init?.body ?? ''), req.headers.get('x-p13n-session-stamp')]);
      return viaWorker(input, init);
    }) as typeof fetch;
    const backend = createClient({ baseUrl: 'http://worker.test', fetch: watching });
    const result = await backend.sendEvents([{ event_id: crypto.randomUUID(), type: 'view', item_id: 'makeup-2', session_id: 'client-stamp', timestamp: Date.now() }]);
    expect(result.session_stamp).toBeGreaterThan(0);
    await backend.recommendations({ slot: 'home', session_id: 'client-stamp', k: 2 });
    await backend.recommendations({ slot: 'home', session_id: 'client-other', k: 2 });
    expect(sentStamps.map(([body, stamp]) => [body.includes('client-stamp'), stamp])).toEqual([
      [true, String(result.session_stamp)],
      [false, null],
    ]);
  });

  it('hands the queue to navigator.sendBeacon when the page is hidden (pagehide)', async () => {
    const beacons: Promise<Response>[] = [];
    g.navigator.sendBeacon = (url: string, body: Blob) => {
      beacons.push(fetchWorker(new URL(url).pathname, { method: 'POST', body, headers: { 'content-type': body.type } }));
      return true;
    };
    const tracker = p13n.events({ session_id: 'client-beacon' }, { flushMs: 60_000 });
    tracker.track({ type: 'add_to_cart', item_id: 'makeup-4' });
    // workerd's global scope is an EventTarget: the browser's pagehide, dispatched the same way.
    globalThis.dispatchEvent(new Event('pagehide') as never);
    tracker.close();
    expect(beacons).toHaveLength(1);
    expect((await (await beacons[0]!).json<any>()).accepted).toBe(1);
    expect(tracker.pending).toBe(0);
  });
});

describe('client: admin', () => {
  it('upserts, patches and lists with the admin token', async () => {
    const up = await p13n.admin.upsertCatalog([{ ...catalog[0]!, item_id: 'client-new', title: 'From the client' }]);
    expect(up.upserted).toBe(1);
    await p13n.admin.patchItem('client-new', { in_stock: false });
    const reranked = await p13n.rerank({ items: ['client-new'] });
    expect(reranked.items[0]).toMatchObject({ item_id: 'client-new', in_stock: false, title: 'From the client' });
    expect(Array.isArray((await p13n.admin.models()).models)).toBe(true);
    const noToken = createClient({ baseUrl: 'http://worker.test', fetch: viaWorker });
    expect(() => noToken.admin.models()).toThrow(/adminToken/);
  });
});
