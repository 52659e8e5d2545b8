/**
 * The event log in R2 (EXPORTS bucket), written by the queue consumer. One gzip NDJSON object per
 * queue message, partitioned by the hour the worker accepted the events:
 *   events/dt=YYYY-MM-DD/hr=HH/<claim>.ndjson.gz
 * Each line is an ExportedEvent (the same columns the old D1 export wrote; pseudonymous keys
 * only). The object name is the message's claim id, so rewriting it after a redelivery is
 * idempotent. The legacy daily exports of the D1 log stay under exports/events/.
 */
import { EXPORT_PREFIX, gunzip, gzip, toExportedEvent, type ExportedEvent } from '../ops/export';
import type { EventRow } from '../db/schema';

export const LOG_PREFIX = 'events/';
/** Every prefix that holds event-log objects: the R2 log and the legacy D1 exports. */
export const EVENT_PREFIXES = [LOG_PREFIX, EXPORT_PREFIX] as const;

export function logKey(claim: string, receivedAt: number): string {
  return `${hourPrefix(receivedAt)}${claim}.ndjson.gz`;
}

/** The key prefix of an hour's partition: keys sort by hour, so an hour range is a key range. */
export function hourPrefix(at: number): string {
  const iso = new Date(at).toISOString();
  return `${LOG_PREFIX}dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}/`;
}

/** Write a message's rows (already deduplicated). Lines are sorted so a rewrite is byte-identical. */
export interface LogObject {
  key: string;
  rows: number;
  bytes: number;
  /** events by type */
  views: number;
  clicks: number;
  carts: number;
  purchases: number;
  impressions: number;
}

/** Events by type, as the manifest's columns. */
export function typeCounts(rows: { type: unknown }[]): Pick<LogObject, 'views' | 'clicks' | 'carts' | 'purchases' | 'impressions'> {
  const n = { views: 0, clicks: 0, carts: 0, purchases: 0, impressions: 0 };
  for (const r of rows) {
    if (r.type === 'view') n.views++;
    else if (r.type === 'click') n.clicks++;
    else if (r.type === 'add_to_cart') n.carts++;
    else if (r.type === 'purchase') n.purchases++;
    else if (r.type === 'impression') n.impressions++;
  }
  return n;
}

export async function writeLogObject(bucket: R2Bucket, claim: string, receivedAt: number, rows: EventRow[]): Promise<LogObject> {
  const lines = rows
    .map((r) => toExportedEvent({ recommendationId: null, slot: null, userKey: null, value: null, ...r, receivedAt }))
    .sort((a, b) => String(a.session_key).localeCompare(String(b.session_key)) || Number(a.ts) - Number(b.ts) || String(a.event_id).localeCompare(String(b.event_id)))
    .map((e) => JSON.stringify(e));
  const key = logKey(claim, receivedAt);
  const body = await gzip(lines.join('\n') + '\n');
  await bucket.put(key, body, {
    httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
    customMetadata: { rows: String(lines.length), claim },
  });
  return { key, rows: lines.length, bytes: body.byteLength, ...typeCounts(rows) };
}

export function parseLog(text: string): ExportedEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ExportedEvent);
}

/** Keys of every event-log object (R2 log, then legacy exports), page by page. */
export async function* logObjectKeys(bucket: R2Bucket, prefixes: readonly string[] = EVENT_PREFIXES): AsyncGenerator<string> {
  for (const prefix of prefixes) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor });
      for (const o of page.objects) yield o.key;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
}

export async function readLogObject(bucket: R2Bucket, key: string): Promise<ExportedEvent[] | null> {
  const obj = await bucket.get(key);
  return obj ? parseLog(await gunzip(obj.body)) : null;
}
