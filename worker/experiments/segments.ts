/**
 * Segments ("customer DNA"): traits derived from the long-term profile and the live session,
 * each with a score in [0, 1], defined by editable rules (built-ins in config.ts, overrides and
 * additions in D1 `segment_rules`). Evaluation is pure and cheap; rules are cached per isolate.
 */
import { asc, eq } from 'drizzle-orm';
import type { ItemFacts } from '../catalog/types';
import { db } from '../db/client';
import { segmentRules } from '../db/schema';
import { TtlCache } from '../lib/ttl-cache';
import type { SessionFeatures } from '../session/durable-object';
import { DEFAULT_SEGMENTS, SegmentRuleSchema, type SegmentFeature, type SegmentRule } from './config';

const DAY = 86_400_000;

export interface SegmentInput {
  features: SessionFeatures | null;
  lookup: (id: string) => ItemFacts | undefined;
  hour: number;
  device?: 'mobile' | 'desktop' | 'other';
  now: number;
}

export type FeatureVector = Record<SegmentFeature, number>;

export function segmentFeatures({ features, lookup, hour, device, now }: SegmentInput): FeatureVector {
  const p = features?.profile ?? null;
  const recent = features?.recent ?? [];
  // Items the shopper engaged with: the live session first, then the profile's recent items.
  const ids = [...new Set([...recent.map((r) => r.itemId), ...(p?.recentItems ?? [])])].slice(0, 60);
  let known = 0;
  let deals = 0;
  for (const id of ids) {
    const it = lookup(id);
    if (!it) continue;
    known += 1;
    // the deal flag is kept per item from its tags (worker/catalog/deal-tags.ts)
    if (it.deal) deals += 1;
  }
  const brand: Record<string, number> = {};
  for (const src of [p?.affinities ?? {}, features?.attrs ?? {}]) {
    for (const [k, w] of Object.entries(src)) if (k.startsWith('brand:')) brand[k] = (brand[k] ?? 0) + w;
  }
  const brandTotal = Object.values(brand).reduce((a, b) => a + b, 0);
  const firstSeen = Math.min(p?.firstSeen ?? now, ...recent.map((r) => r.ts));
  return {
    purchase_count: p?.purchaseCount ?? 0,
    monetary: p?.monetary ?? 0,
    days_since_last_purchase: p?.lastPurchaseAt ? (now - p.lastPurchaseAt) / DAY : 9999,
    days_since_first_seen: Math.max(0, (now - firstSeen) / DAY),
    profile_events: Math.max(p?.eventCount ?? 0, recent.length),
    session_events: recent.length,
    cart_size: features?.cart.length ?? 0,
    hour,
    night: hour >= 22 || hour < 5 ? 1 : 0,
    mobile: device === 'mobile' ? 1 : 0,
    deal_share: known ? deals / known : 0,
    brand_concentration: brandTotal > 0 ? Math.max(...Object.values(brand)) / brandTotal : 0,
  };
}

const OPS = {
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '==': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
};

/** Score of one rule, or null when a hard condition fails. */
export function scoreRule(rule: SegmentRule, f: FeatureVector): number | null {
  if (!rule.when.every((c) => OPS[c.op](f[c.feature], c.value))) return null;
  let sum = 0;
  let wsum = 0;
  for (const t of rule.score) {
    const x = Math.min(1, Math.max(0, (f[t.feature] - t.from) / (t.to - t.from)));
    sum += t.weight * x;
    wsum += t.weight;
  }
  return wsum > 0 ? sum / wsum : 0;
}

export interface SegmentScore {
  name: string;
  score: number;
}

/** Segments the shopper belongs to (score ≥ threshold), best first. */
export function evaluateSegments(rules: Record<string, SegmentRule>, f: FeatureVector): SegmentScore[] {
  const out: SegmentScore[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    if (!rule.enabled) continue;
    const s = scoreRule(rule, f);
    if (s !== null && s >= rule.threshold) out.push({ name, score: Math.round(s * 1000) / 1000 });
  }
  return out.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
}

const cache = new TtlCache<Record<string, SegmentRule>>(10_000);

async function readRules(d1: D1Database): Promise<Record<string, SegmentRule>> {
  const rows = await db(d1).select().from(segmentRules).orderBy(asc(segmentRules.name)).all();
  const rules: Record<string, SegmentRule> = { ...DEFAULT_SEGMENTS };
  for (const r of rows) {
    const parsed = SegmentRuleSchema.safeParse(r.definition);
    if (parsed.success) rules[r.name] = parsed.data;
  }
  return rules;
}

/** Built-ins overlaid with the stored rules; a failing D1 read keeps the built-ins. */
export function getSegmentRules(d1: D1Database, waitUntil?: (p: Promise<unknown>) => void): Promise<Record<string, SegmentRule>> {
  return cache.get('rules', () => readRules(d1), waitUntil).catch(() => ({ ...DEFAULT_SEGMENTS }));
}

export async function putSegmentRule(d1: D1Database, name: string, rule: SegmentRule): Promise<void> {
  const now = Date.now();
  await db(d1)
    .insert(segmentRules)
    .values({ name, definition: rule, updatedAt: now })
    .onConflictDoUpdate({ target: segmentRules.name, set: { definition: rule, updatedAt: now } });
  cache.delete('rules');
}

/** Deleting a built-in disables it (stored as enabled: false); deleting a custom rule removes it. */
export async function deleteSegmentRule(d1: D1Database, name: string): Promise<boolean> {
  const builtIn = DEFAULT_SEGMENTS[name];
  cache.delete('rules');
  if (builtIn) {
    await putSegmentRule(d1, name, { ...builtIn, enabled: false });
    return true;
  }
  const res = await db(d1).delete(segmentRules).where(eq(segmentRules.name, name)).returning({ name: segmentRules.name });
  return res.length > 0;
}

export function invalidateSegmentRules(): void {
  cache.delete('rules');
}
