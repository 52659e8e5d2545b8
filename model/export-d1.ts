/**
 * Exports the worker's own catalog (D1) and event log into the pipeline's input formats. The
 * event log is the R2 log the queue consumer writes (listed through D1's event_log_objects
 * manifest), plus any rows still in the legacy D1 `events` table (migration period); an event in
 * both counts once. user_id = user_key, or session_key when there is no user_key. Impressions are
 * skipped. Keyset pagination keeps every query small.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { EventRow, EventType, ItemRow } from './io';
import { EVENT_TYPES } from './io';
import { targetFlags, type Target } from './target';
import { d1Query, sqlString, wrangler } from './wrangler';

interface ItemRec { id: string; title: string | null; category: string | null; brand: string | null; price: number | null; tags: string | null }
interface EventRec { event_id: string; type: string; item_id: string; session_key: string; user_key: string | null; ts: number; value: number | null }

export type Query = <T>(sql: string) => T[] | Promise<T[]>;

/** The R2 event log: object keys in key order (after a cursor), and an object's NDJSON text. */
export interface LogSource {
  keys(after: string | null, page: number): string[] | Promise<string[]>;
  /** null when the object is gone (erasure deleted it) */
  read(key: string): string | null | Promise<string | null>;
}

export async function exportFromD1(query: Query, page = 5000, log?: LogSource): Promise<{ items: ItemRow[]; events: EventRow[]; skipped: number; logObjects: number }> {
  const items: ItemRow[] = [];
  let last: string | null = null;
  for (;;) {
    const rows: ItemRec[] = await query<ItemRec>(`SELECT id, title, category, brand, price, tags FROM items${last !== null ? ` WHERE id > ${sqlString(last)}` : ''} ORDER BY id LIMIT ${page}`);
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
  const keyed: { key: string; ts: number; row: EventRow }[] = [];
  const seen = new Set<string>();
  let skipped = 0;
  const take = (r: EventRec) => {
    const k = `${r.session_key}\u0000${r.event_id}`;
    if (seen.has(k)) return;
    seen.add(k);
    if (!(EVENT_TYPES as readonly string[]).includes(r.type)) {
      skipped++;
      return;
    }
    const e: EventRow = { user: r.user_key || r.session_key, item: r.item_id, ts: r.ts, type: r.type as EventType };
    if (r.value !== null && r.value !== undefined) e.value = r.value;
    keyed.push({ key: r.event_id, ts: r.ts, row: e });
  };
  let logObjects = 0;
  for (let after: string | null = null; log; ) {
    const keys = await log.keys(after, page);
    for (const key of keys) {
      const text = await log.read(key);
      if (text === null) continue;
      logObjects++;
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const r = JSON.parse(line) as EventRec;
        if (r.type !== 'impression') take(r);
      }
    }
    if (keys.length < page) break;
    after = keys[keys.length - 1]!;
  }
  let cursor: { ts: number; id: string } | null = null;
  for (;;) {
    const where = cursor ? ` AND (ts > ${cursor.ts} OR (ts = ${cursor.ts} AND event_id > ${sqlString(cursor.id)}))` : '';
    const rows: EventRec[] = await query<EventRec>(`SELECT event_id, type, item_id, session_key, user_key, ts, value FROM events WHERE type <> 'impression'${where} ORDER BY ts, event_id LIMIT ${page}`);
    for (const r of rows) take(r);
    if (rows.length < page) break;
    const l = rows[rows.length - 1]!;
    cursor = { ts: l.ts, id: l.event_id };
  }
  keyed.sort((a, b) => a.ts - b.ts || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { items, events: keyed.map((k) => k.row), skipped, logObjects };
}

/** The log's object keys after `after`, from the D1 manifest (wrangler cannot list R2 objects). */
export function logKeysSql(after: string | null, page: number): string {
  return `SELECT key FROM event_log_objects${after !== null ? ` WHERE key > ${sqlString(after)}` : ''} ORDER BY key LIMIT ${page}`;
}

/** The R2 log through wrangler: keys from the D1 manifest, objects with `wrangler r2 object get` (from `bucket`, by default the target's EXPORTS bucket). */
export function r2LogSource(t: Target, bucket = t.exports): LogSource {
  const dir = mkdtempSync(join(tmpdir(), 'p13n-log-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return {
    keys: (after, page) => d1Query<{ key: string }>(logKeysSql(after, page), t).map((r) => r.key),
    read: (key) => {
      const file = join(dir, 'object.gz');
      try {
        wrangler(['r2', 'object', 'get', `${bucket}/${key}`, ...targetFlags(t), '--file', file]);
      } catch {
        return null;
      }
      return gunzipSync(readFileSync(file)).toString('utf8');
    },
  };
}

export function d1Source(t: Target): Query {
  return <T>(sql: string) => d1Query<T>(sql, t);
}
