import { describe, expect, it } from 'vitest';
import { fetchWorker, postEvents, recommendations } from './helpers';

describe('malformed requests get 400 with a JSON error that names the field', () => {
  it('recommendations without slot', async () => {
    const r = await recommendations({ session_id: 's1' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.issues.map((i: { field: string }) => i.field)).toContain('slot');
  });

  it('recommendations with a k that is not a number, or too large', async () => {
    for (const k of ['abc', '0', '1000']) {
      const r = await recommendations({ slot: 'home', k });
      expect(r.status).toBe(400);
      expect(r.body.error.issues[0].field).toBe('k');
    }
  });

  it('price range upside down', async () => {
    const r = await recommendations({ slot: 'home', price_min: 50, price_max: 10 });
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].field).toBe('price_max');
  });

  it('events body that is not JSON', async () => {
    const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"events": [' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.message).toMatch(/json/i);
  });

  it('events batch that is empty or too big', async () => {
    expect((await postEvents([])).status).toBe(400);
    const big = Array.from({ length: 501 }, (_, i) => ({ event_id: `e${i}`, type: 'view', item_id: 'x', session_id: 's', timestamp: Date.now() }));
    const r = await postEvents(big);
    expect(r.status).toBe(400);
    expect(r.body.error.issues[0].field).toBe('events');
  });

  it('a bad event is rejected on its own, with the field, while good ones are accepted', async () => {
    const r = await postEvents([
      { event_id: 'ok-1', type: 'view', item_id: 'a', session_id: 's', timestamp: Date.now() },
      { event_id: 'bad-1', type: 'teleport', item_id: 'a', session_id: 's', timestamp: Date.now() },
      { event_id: 'bad-2', type: 'view', item_id: 'a', session_id: 's', timestamp: 'not a date' },
      { event_id: 'bad-3', type: 'view', session_id: 's', timestamp: Date.now() },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.accepted).toBe(1);
    expect(r.body.rejected.map((x: any) => [x.event_id, x.issues[0].field])).toEqual([
      ['bad-1', 'events.1.type'],
      ['bad-2', 'events.2.timestamp'],
      ['bad-3', 'events.3.item_id'],
    ]);
  });

  it('unknown routes answer a JSON 404, not HTML', async () => {
    const res = await fetchWorker('/v1/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('not_found');
  });

  it('serves an OpenAPI document generated from the schemas', async () => {
    const res = await fetchWorker('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/recommendations', '/v1/blocks/{slot}', '/v1/admin/catalog', '/v1/admin/models']));
    const params = doc.paths['/v1/recommendations'].get.parameters.map((p: any) => p.name);
    expect(params).toEqual(expect.arrayContaining(['slot', 'session_id', 'user_id', 'k', 'category', 'brand', 'price_min', 'price_max', 'in_stock', 'exclude']));
  });
});
