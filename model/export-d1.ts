/**
 * Exports the worker's own catalog and event log from D1 into the pipeline's input formats.
 * user_id = user_key, or session_key when there is no user_key. Impressions are skipped.
 * Keyset pagination keeps every query small.
 */
import type { EventRow, EventType, ItemRow } from './io';
import { EVENT_TYPES } from './io';
import { d1Query, sqlString, type Where } from './wrangler';

interface ItemRec { id: string; title: string | null; category: string | null; brand: string | null; price: number | null; tags: string | null }
interface EventRec { event_id: string; type: string; item_id: string; session_key: string; user_key: string | null; ts: number; value: number | null }

export type Query = <T>(sql: string) => T[];

export function exportFromD1(query: Query, page = 5000): { items: ItemRow[]; events: EventRow[]; skipped: number } {
  const items: ItemRow[] = [];
  let last: string | null = null;
  for (;;) {
    const rows: ItemRec[] = query<ItemRec>(`SELECT id, title, category, brand, price, tags FROM items${last !== null ? ` WHERE id > ${sqlString(last)}` : ''} ORDER BY id LIMIT ${page}`);
    for (const r of rows) {
      let tags: string[] = [];
      try {
        const t = JSON.parse(r.tags ?? '[]') as unknown;
        if (Array.isArray(t)) tags = t.map(String);
      } catch {
        tags = [];
      }
      const it: ItemRow = { id: r.id, tags };
      if (r.title) it.title = r.title;
      if (r.category) it.category = r.category;
      if (r.brand) it.brand = r.brand;
      if (r.price !== null && r.price !== undefined) it.price = r.price;
      items.push(it);
    }
    if (rows.length < page) break;
    last = rows[rows.length - 1]!.id;
  }
  const events: EventRow[] = [];
  let skipped = 0;
  let cursor: { ts: number; id: string } | null = null;
  for (;;) {
    const where = cursor ? ` AND (ts > ${cursor.ts} OR (ts = ${cursor.ts} AND event_id > ${sqlString(cursor.id)}))` : '';
    const rows: EventRec[] = query<EventRec>(`SELECT event_id, type, item_id, session_key, user_key, ts, value FROM events WHERE type <> 'impression'${where} ORDER BY ts, event_id LIMIT ${page}`);
    for (const r of rows) {
      if (!(EVENT_TYPES as readonly string[]).includes(r.type)) {
        skipped++;
        continue;
      }
      const e: EventRow = { user: r.user_key || r.session_key, item: r.item_id, ts: r.ts, type: r.type as EventType };
      if (r.value !== null && r.value !== undefined) e.value = r.value;
      events.push(e);
    }
    if (rows.length < page) break;
    const l = rows[rows.length - 1]!;
    cursor = { ts: l.ts, id: l.event_id };
  }
  return { items, events, skipped };
}

export function d1Source(where: Where): Query {
  return <T>(sql: string) => d1Query<T>(sql, where);
}
