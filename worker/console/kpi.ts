/**
 * The console's business KPIs, read from kpi_rollups only (worker/events/kpi-rollup.ts writes
 * them), never from the event log. Formulas (docs/console.md):
 *   conversion            = orders / visitors
 *   average order value   = revenue / orders
 *   revenue per visitor   = revenue / visitors
 *   items per order       = items / orders
 *   repeat-purchase rate  = repeat orders / orders
 *   recommendation share  = revenue attributed to recommendations / revenue
 *   CTR (per slot)        = clicks / impressions
 * A ratio with a zero denominator is null ("—"), never 0.
 */
import { and, eq, gte, ne, sql } from 'drizzle-orm';
import { db } from '../db/client';
import { kpiRollups } from '../db/schema';
import { DAY_MS } from '../lib/vars';

export interface Counts {
  visitors: number;
  views: number;
  impressions: number;
  clicks: number;
  carts: number;
  orders: number;
  items: number;
  revenue: number;
  recOrders: number;
  recRevenue: number;
  repeatOrders: number;
}

export interface Figures extends Counts {
  conversion: number | null;
  aov: number | null;
  rpv: number | null;
  itemsPerOrder: number | null;
  repeatRate: number | null;
  recShare: number | null;
  ctr: number | null;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

export function figures(c: Counts): Figures {
  return {
    ...c,
    conversion: ratio(c.orders, c.visitors),
    aov: ratio(c.revenue, c.orders),
    rpv: ratio(c.revenue, c.visitors),
    itemsPerOrder: ratio(c.items, c.orders),
    repeatRate: ratio(c.repeatOrders, c.orders),
    recShare: ratio(c.recRevenue, c.revenue),
    ctr: ratio(c.clicks, c.impressions),
  };
}

const sums = {
  visitors: sql<number>`sum(${kpiRollups.visitors})`,
  views: sql<number>`sum(${kpiRollups.views})`,
  impressions: sql<number>`sum(${kpiRollups.impressions})`,
  clicks: sql<number>`sum(${kpiRollups.clicks})`,
  carts: sql<number>`sum(${kpiRollups.carts})`,
  orders: sql<number>`sum(${kpiRollups.orders})`,
  items: sql<number>`sum(${kpiRollups.items})`,
  revenue: sql<number>`sum(${kpiRollups.revenue})`,
  recOrders: sql<number>`sum(${kpiRollups.recOrders})`,
  recRevenue: sql<number>`sum(${kpiRollups.recRevenue})`,
  repeatOrders: sql<number>`sum(${kpiRollups.repeatOrders})`,
};

const toCounts = (r: Record<keyof Counts, number | null>): Counts =>
  Object.fromEntries(Object.keys(sums).map((k) => [k, Number(r[k as keyof Counts] ?? 0)])) as unknown as Counts;

export interface KpiReport {
  days: number;
  from: number;
  total: Figures;
  bySegment: (Figures & { segment: string })[];
  bySlot: (Figures & { slot: string })[];
  daily: (Figures & { day: number })[];
  /** the last 48 hours, from the hour rows (visitors are counted per day only: conversion is per day) */
  hourly: (Figures & { hour: number })[];
  hoursFrom: number;
}

/** The last `days` days (today included) from the day rows, and the last 48 hours from the hour rows: five grouped reads in one D1 batch. */
export async function kpiReport(d1: D1Database, days: number, now = Date.now()): Promise<KpiReport> {
  const d = db(d1);
  const from = now - (now % DAY_MS) - (days - 1) * DAY_MS;
  const inRange = and(eq(kpiRollups.grain, 'day'), gte(kpiRollups.bucket, from));
  const hoursFrom = now - (now % 3_600_000) - 47 * 3_600_000;
  const [total, bySegment, bySlot, daily, hourly] = await d.batch([
    d.select(sums).from(kpiRollups).where(and(inRange, eq(kpiRollups.slot, ''), eq(kpiRollups.segment, ''))),
    d.select({ segment: kpiRollups.segment, ...sums }).from(kpiRollups).where(and(inRange, eq(kpiRollups.slot, ''), ne(kpiRollups.segment, ''))).groupBy(kpiRollups.segment),
    d.select({ slot: kpiRollups.slot, ...sums }).from(kpiRollups).where(and(inRange, ne(kpiRollups.slot, ''), eq(kpiRollups.segment, ''))).groupBy(kpiRollups.slot),
    d.select({ day: kpiRollups.bucket, ...sums }).from(kpiRollups).where(and(inRange, eq(kpiRollups.slot, ''), eq(kpiRollups.segment, ''))).groupBy(kpiRollups.bucket).orderBy(kpiRollups.bucket),
    d
      .select({ hour: kpiRollups.bucket, ...sums })
      .from(kpiRollups)
      .where(and(eq(kpiRollups.grain, 'hour'), gte(kpiRollups.bucket, hoursFrom), eq(kpiRollups.slot, ''), eq(kpiRollups.segment, '')))
      .groupBy(kpiRollups.bucket)
      .orderBy(kpiRollups.bucket),
  ]);
  return {
    days,
    from,
    total: figures(toCounts(total[0] ?? ({} as Record<keyof Counts, null>))),
    bySegment: bySegment.map((r) => ({ segment: r.segment, ...figures(toCounts(r)) })),
    bySlot: bySlot.map((r) => ({ slot: r.slot, ...figures(toCounts(r)) })).sort((a, b) => b.impressions - a.impressions),
    daily: daily.map((r) => ({ day: r.day, ...figures(toCounts(r)) })),
    hourly: hourly.map((r) => ({ hour: r.hour, ...figures(toCounts(r)) })),
    hoursFrom,
  };
}
