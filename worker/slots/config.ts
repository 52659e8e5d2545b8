/**
 * Per-slot configuration (merchandising rules, template) from D1, cached per isolate.
 * Slot names come from requests, so the cache is not keyed by them: all configured slots are read
 * in one query (they are few, written by admins) and any other name answers the default config,
 * without a D1 read or a cache entry of its own.
 */
import { db } from '../db/client';
import { slots } from '../db/schema';
import { TtlCache } from '../lib/ttl-cache';
import { SlotRulesSchema, type SlotRules } from '../schemas/slots';

export interface SlotConfig {
  rules: SlotRules;
  template: string | null;
  /** null: the environment's CURRENCY / LOCALE (worker/render/locale.ts) */
  currency: string | null;
  locale: string | null;
}

const EMPTY: SlotConfig = { rules: SlotRulesSchema.parse({}), template: null, currency: null, locale: null };
const ALL = 'all';
const cache = new TtlCache<Map<string, SlotConfig>>(10_000);

async function readAll(d1: D1Database): Promise<Map<string, SlotConfig>> {
  const rows = await db(d1).select().from(slots).all();
  return new Map(
    rows.map((row) => {
      const rules = SlotRulesSchema.safeParse(row.rules);
      return [row.slot, { rules: rules.success ? rules.data : EMPTY.rules, template: row.template, currency: row.currency, locale: row.locale }];
    }),
  );
}

export async function getSlotConfig(d1: D1Database, slot: string, waitUntil?: (p: Promise<unknown>) => void): Promise<SlotConfig> {
  try {
    return (await cache.get(ALL, () => readAll(d1), waitUntil)).get(slot) ?? EMPTY;
  } catch {
    return EMPTY;
  }
}

export async function putSlotConfig(d1: D1Database, slot: string, config: SlotConfig): Promise<void> {
  const now = Date.now();
  await db(d1)
    .insert(slots)
    .values({ slot, rules: config.rules, template: config.template, currency: config.currency, locale: config.locale, updatedAt: now })
    .onConflictDoUpdate({ target: slots.slot, set: { rules: config.rules, template: config.template, currency: config.currency, locale: config.locale, updatedAt: now } });
  cache.delete(ALL);
}

export async function listSlotConfigs(d1: D1Database) {
  return db(d1).select().from(slots).all();
}
