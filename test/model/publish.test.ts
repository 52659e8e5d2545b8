import { describe, expect, it } from 'vitest';
import { exportFromD1 } from '../../model/export-d1';
import { registerSql } from '../../model/publish';

describe('publish SQL', () => {
  it('registers, retires the previous active model and activates the new one', () => {
    const sql = registerSql({ version: "v1'x", sha256: 'abc', bytes: 10, summary: { a: "it's" } }, 123);
    expect(sql).toContain(`VALUES ('v1''x', 'models/v1''x/', 'abc', 10, 'registered', 123, NULL, (SELECT version FROM models WHERE status = 'active' AND version <> 'v1''x'`);
    expect(sql).toContain(`'{"a":"it''s"}'`);
    expect(sql.indexOf("SET status = 'retired'")).toBeLessThan(sql.indexOf("SET status = 'active', activated_at = 123"));
  });
});

describe('D1 export', () => {
  it('paginates items and events, maps user_key/session_key, skips impressions via SQL', async () => {
    const items = [
      { id: 'a', title: 'A', category: 'c', brand: null, price: 2, tags: '["x","y"]' },
      { id: 'b', title: 'B', category: null, brand: 'z', price: null, tags: 'not json' },
      { id: 'c', title: 'C', category: null, brand: null, price: null, tags: '[]' },
    ];
    const events = [
      { event_id: 'e1', type: 'view', item_id: 'a', session_key: 's1', user_key: null, ts: 1, value: null },
      { event_id: 'e2', type: 'purchase', item_id: 'b', session_key: 's1', user_key: 'u1', ts: 1, value: 9 },
      { event_id: 'e3', type: 'click', item_id: 'c', session_key: 's2', user_key: null, ts: 2, value: null },
    ];
    const queries: string[] = [];
    const query = <T>(sql: string): T[] => {
      queries.push(sql);
      const limit = Number(/LIMIT (\d+)/.exec(sql)![1]);
      if (sql.includes('FROM items')) {
        const after = /id > '([^']*)'/.exec(sql)?.[1];
        return items.filter((i) => after === undefined || i.id > after).slice(0, limit) as T[];
      }
      expect(sql).toContain("type <> 'impression'");
      const m = /ts > (\d+) OR \(ts = (\d+) AND event_id > '([^']*)'\)/.exec(sql);
      return events.filter((e) => !m || e.ts > Number(m[1]) || (e.ts === Number(m[2]) && e.event_id > m[3]!)).slice(0, limit) as T[];
    };
    const r = await exportFromD1(query, 2);
    expect(r.items).toEqual([
      { id: 'a', title: 'A', category: 'c', price: 2, tags: ['x', 'y'] },
      { id: 'b', title: 'B', brand: 'z', tags: [] },
      { id: 'c', title: 'C', tags: [] },
    ]);
    expect(r.events).toEqual([
      { user: 's1', item: 'a', ts: 1, type: 'view' },
      { user: 'u1', item: 'b', ts: 1, type: 'purchase', value: 9 },
      { user: 's2', item: 'c', ts: 2, type: 'click' },
    ]);
    expect(queries.length).toBe(4);
  });

  it('reads the R2 event log (through its manifest, page by page), merges legacy D1 rows and counts an event in both once', async () => {
    const line = (e: Record<string, unknown>) => JSON.stringify({ recommendation_id: null, slot: null, received_at: 5, value: null, user_key: null, ...e });
    const objects: Record<string, string | null> = {
      'events/dt=2026-11-23/hr=07/a.ndjson.gz': [line({ event_id: 'l1', type: 'view', item_id: 'a', session_key: 's9', ts: 3 }), line({ event_id: 'l2', type: 'impression', item_id: 'a', session_key: 's9', ts: 3 })].join('\n') + '\n',
      'events/dt=2026-11-23/hr=08/b.ndjson.gz': line({ event_id: 'l3', type: 'purchase', item_id: 'b', session_key: 's9', user_key: 'u9', ts: 0, value: 4 }) + '\n',
      // the legacy D1 row e1 was also exported: same session and id, counted once
      'events/dt=2026-11-23/hr=09/c.ndjson.gz': line({ event_id: 'e1', type: 'view', item_id: 'a', session_key: 's1', ts: 1 }) + '\n',
      // erased after the manifest listed it
      'events/dt=2026-11-23/hr=10/d.ndjson.gz': null,
    };
    const pages: (string | null)[] = [];
    const log = {
      keys: (after: string | null, page: number) => {
        pages.push(after);
        return Object.keys(objects).filter((k) => after === null || k > after).sort().slice(0, page);
      },
      read: (key: string) => objects[key] ?? null,
    };
    const legacy = [{ event_id: 'e1', type: 'view', item_id: 'a', session_key: 's1', user_key: null, ts: 1, value: null }];
    const query = <T>(sql: string): T[] => (sql.includes('FROM items') ? [] : sql.includes('event_id >') ? [] : (legacy as T[]));
    const r = await exportFromD1(query, 2, log);
    expect(r.events).toEqual([
      { user: 'u9', item: 'b', ts: 0, type: 'purchase', value: 4 },
      { user: 's1', item: 'a', ts: 1, type: 'view' },
      { user: 's9', item: 'a', ts: 3, type: 'view' },
    ]);
    expect(r.logObjects).toBe(3);
    expect(pages).toEqual([null, 'events/dt=2026-11-23/hr=08/b.ndjson.gz', 'events/dt=2026-11-23/hr=10/d.ndjson.gz']);
  });
});
