/** Per-slot configuration (merchandising rules, template) from D1, cached per isolate. */
import { eq } from 'drizzle-orm';
import { db } from '../db/client';
import { slots } from '../db/schema';
import { TtlCache } from '../lib/ttl-cache';
import { SlotRulesSchema, type SlotRules } from '../schemas/slots';

export interface SlotConfig {
  rules: SlotRules;
  template: string | null;
}

const EMPTY: SlotConfig = { rules: SlotRulesSchema.parse({}), template: null };
const cache = new TtlCache<SlotConfig>(10_000);

async function read(d1: D1Database, slot: string): Promise<SlotConfig> {
  const row = await db(d1).select().from(slots).where(eq(slots.slot, slot)).get();
  if (!row) return EMPTY;
  const rules = SlotRulesSchema.safeParse(row.rules);
  return { rules: rules.success ? rules.data : EMPTY.rules, template: row.template };
}

export function getSlotConfig(d1: D1Database, slot: string, waitUntil?: (p: Promise<unknown>) => void): Promise<SlotConfig> {
  return cache.get(slot, () => read(d1, slot), waitUntil).catch(() => EMPTY);
}

export async function putSlotConfig(d1: D1Database, slot: string, config: SlotConfig): Promise<void> {
  const now = Date.now();
  await db(d1)
    .insert(slots)
    .values({ slot, rules: config.rules, template: config.template ?? null, updatedAt: now })
    .onConflictDoUpdate({ target: slots.slot, set: { rules: config.rules, template: config.template ?? null, updatedAt: now } });
  cache.delete(slot);
}

export async function listSlotConfigs(d1: D1Database) {
  return db(d1).select().from(slots).all();
}
