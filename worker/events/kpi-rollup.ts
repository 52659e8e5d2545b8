/**
 * Business KPI rollups (docs/console.md): the queue consumer adds each batch's counts to
 * kpi_rollups, one upsert per (grain, bucket, slot, segment) group, in its D1 batch. The console
 * reads these rows only, never the event log.
 *
 *  - bucket: the hour / day (UTC) the worker accepted the events (the message's receivedAt, like
 *    the event log's partitions), so a late-stamped event cannot reopen an old day;
 *  - slot: the event's `slot` ('' = all); segment: 'signed_in' or 'anonymous' ('' = all);
 *  - an order is the purchase events of one session sharing a timestamp (one checkout);
 *  - visitors: distinct session keys of the day (slot '' only), each counted once per day through
 *    kpi_visitors (pseudonymous keys, kept two days): the upsert counts the batch's keys not yet
 *    marked, and the marks are written after it in the same batch.
 * Exactly once: a message whose log object is already in the manifest (event_log_objects, the
 * same D1 batch as these upserts) was counted by an earlier delivery and is skipped.
 */
import { inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { chunk, rowsPerStatement, type Db } from '../db/client';
import { eventLogObjects, kpiRollups, kpiVisitors, type EventRow } from '../db/schema';
import { DAY_MS } from '../lib/vars';

const HOUR_MS = 3_600_000;

export interface KpiMessage {
  /** the message's R2 log object key (the manifest row the same D1 batch writes) */
  key: string;
  receivedAt: number;
  /** the rows the message stores, with last-touch recommendations filled in */
  rows: EventRow[];
  /** purchase event ids of shoppers who had purchased before */
  repeat: Set<string>;
}

export const segmentOf = (r: Pick<EventRow, 'userKey'>) => (r.userKey ? 'signed_in' : 'anonymous');

interface Group {
  grain: 'hour' | 'day';
  bucket: number;
  slot: string;
  segment: string;
  views: number;
  impressions: number;
  clicks: number;
  carts: number;
  items: number;
  revenue: number;
  recRevenue: number;
  orders: Set<string>;
  recOrders: Set<string>;
  repeatOrders: Set<string>;
  sessions: Set<string>;
}

/** The batch's counts by group (pure). */
function kpiGroups(messages: Omit<KpiMessage, 'key'>[]): Group[] {
  const groups = new Map<string, Group>();
  const at = (grain: Group['grain'], bucket: number, slot: string, segment: string): Group => {
    const k = `${grain}|${bucket}|${slot}|${segment}`;
    let g = groups.get(k);
    if (!g) {
      g = { grain, bucket, slot, segment, views: 0, impressions: 0, clicks: 0, carts: 0, items: 0, revenue: 0, recRevenue: 0, orders: new Set(), recOrders: new Set(), repeatOrders: new Set(), sessions: new Set() };
      groups.set(k, g);
    }
    return g;
  };
  for (const m of messages) {
    const buckets = [['hour', m.receivedAt - (m.receivedAt % HOUR_MS)], ['day', m.receivedAt - (m.receivedAt % DAY_MS)]] as const;
    for (const r of m.rows) {
      const order = `${r.sessionKey}|${r.ts}`;
      for (const [grain, bucket] of buckets) {
        for (const slot of r.slot ? ['', r.slot] : ['']) {
          for (const segment of ['', segmentOf(r)]) {
            const g = at(grain, bucket, slot, segment);
            if (grain === 'day' && slot === '') g.sessions.add(r.sessionKey);
            if (r.type === 'view') g.views++;
            else if (r.type === 'impression') g.impressions++;
            else if (r.type === 'click') g.clicks++;
            else if (r.type === 'add_to_cart') g.carts++;
            else if (r.type === 'purchase') {
              const value = r.value ?? 0;
              g.items++;
              g.revenue += value;
              g.orders.add(order);
              if (r.recommendationId) {
                g.recRevenue += value;
                g.recOrders.add(order);
              }
              if (m.repeat.has(r.eventId)) g.repeatOrders.add(order);
            }
          }
        }
      }
    }
  }
  return [...groups.values()];
}

/** The upserts (and visitor marks) for the messages not counted before. */
export async function kpiStatements(d: Db, messages: KpiMessage[]): Promise<BatchItem<'sqlite'>[]> {
  const withRows = messages.filter((m) => m.rows.length);
  if (!withRows.length) return [];
  const counted = new Set<string>();
  for (const part of chunk(withRows.map((m) => m.key), 90)) {
    for (const r of await d.select({ key: eventLogObjects.key }).from(eventLogObjects).where(inArray(eventLogObjects.key, part))) counted.add(r.key);
  }
  const fresh = withRows.filter((m) => !counted.has(m.key));
  const groups = kpiGroups(fresh);
  const upserts = groups.map((g) => {
    const keys = JSON.stringify([...g.sessions]);
    // Sessions of this group not yet marked for the day (the marks follow in the same batch).
    const visitors = g.sessions.size
      ? sql<number>`(SELECT count(*) FROM json_each(${keys}) j WHERE NOT EXISTS (SELECT 1 FROM ${kpiVisitors} v WHERE v.day = ${g.bucket} AND v.segment = ${g.segment} AND v.session_key = j.value))`
      : 0;
    const add = (col: keyof typeof kpiRollups.$inferSelect) => sql`${kpiRollups[col]} + excluded.${sql.identifier(kpiRollups[col].name)}`;
    return d
      .insert(kpiRollups)
      .values({
        grain: g.grain,
        bucket: g.bucket,
        slot: g.slot,
        segment: g.segment,
        visitors,
        views: g.views,
        impressions: g.impressions,
        clicks: g.clicks,
        carts: g.carts,
        orders: g.orders.size,
        items: g.items,
        revenue: g.revenue,
        recOrders: g.recOrders.size,
        recRevenue: g.recRevenue,
        repeatOrders: g.repeatOrders.size,
      })
      .onConflictDoUpdate({
        target: [kpiRollups.grain, kpiRollups.bucket, kpiRollups.slot, kpiRollups.segment],
        set: Object.fromEntries(
          (['visitors', 'views', 'impressions', 'clicks', 'carts', 'orders', 'items', 'revenue', 'recOrders', 'recRevenue', 'repeatOrders'] as const).map((c) => [c, add(c)]),
        ),
      });
  });
  const marks = groups.flatMap((g) => [...g.sessions].map((sessionKey) => ({ day: g.bucket, segment: g.segment, sessionKey })));
  return [...upserts, ...chunk(marks, rowsPerStatement(3)).map((part) => d.insert(kpiVisitors).values(part).onConflictDoNothing())];
}
