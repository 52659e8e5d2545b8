/**
 * Right of access: everything held about a shopper, as one JSON document — the profile, each
 * session object's state, the event log (D1 and the R2 archive), the experiment records of
 * recommendations served to them and purchases attributed to those, and their current segments.
 */
import { eq, or, sql } from 'drizzle-orm';
import { getServingCatalog } from '../catalog/serving';
import { chunk, db } from '../db/client';
import { events, profiles, recPurchases, recServed } from '../db/schema';
import { evaluateSegments, getSegmentRules, segmentFeatures } from '../experiments/segments';
import { toExportedEvent, type ExportedEvent } from '../ops/export';
import type { ShopperExport, ShopperRequest } from '../schemas/shoppers';
import { bufferStub } from '../events/buffer-client';
import { sessionStub } from '../session/client';
import type { SessionDump } from '../session/durable-object';
import { readArchivedEvents } from './archive';
import { allSessionKeys, keysJson, resolveSubject, sessionObjects } from './subject';

const DO_PARALLEL = 16;

/** camelCase row keys -> the snake_case the API speaks. */
function snake(row: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

async function sessionDumps(env: Env, objects: { sessionKey: string; userKey: string | null }[]): Promise<{ session_key: string; state: SessionDump }[]> {
  const out: { session_key: string; state: SessionDump }[] = [];
  for (const part of chunk(objects, DO_PARALLEL)) {
    const dumps = await Promise.all(part.map((o) => sessionStub(env, o.sessionKey, o.userKey).dump()));
    part.forEach((o, i) => dumps[i] && out.push({ session_key: o.sessionKey, state: dumps[i] }));
  }
  return out;
}

export async function exportShopper(env: Env, req: ShopperRequest): Promise<ShopperExport> {
  const s = await resolveSubject(env, req);
  // The user's sessions known only to the archive (older than the index) add their objects.
  const archived = await readArchivedEvents(env.EXPORTS, s);
  for (const k of archived.newSessions) s.userSessionKeys.add(k);
  const { sessions: sessionsJson, units: unitsJson } = keysJson(s);
  const inJson = (json: string) => sql`(SELECT value FROM json_each(${json}))`;
  const d = db(env.DB);
  const [profileRows, eventRows, served] = await d.batch([
    d.select().from(profiles).where(eq(profiles.userKey, s.userKey ?? '')),
    d
      .select()
      .from(events)
      .where(or(s.userKey ? eq(events.userKey, s.userKey) : sql`0`, sql`${events.sessionKey} IN ${inJson(sessionsJson)}`)),
    d.select().from(recServed).where(sql`${recServed.unitKey} IN ${inJson(unitsJson)}`),
  ]);
  const byId = new Map<string, ExportedEvent>(archived.rows.map((r) => [String(r.event_id), r]));
  // Events still waiting in the buffer (D1 was failing when they arrived) are held too.
  for (const e of await bufferStub(env).heldFor(s.userKey, [...s.sessionKeys])) {
    byId.set(e.eventId, toExportedEvent({ recommendationId: null, slot: null, userKey: null, value: null, ...e }));
  }
  for (const e of eventRows) byId.set(e.eventId, toExportedEvent(e));
  const allEvents = [...byId.values()].sort((a, b) => Number(a.ts) - Number(b.ts) || String(a.event_id).localeCompare(String(b.event_id)));
  const purchaseIds = JSON.stringify(allEvents.filter((e) => e.type === 'purchase').map((e) => e.event_id));
  const servedIds = JSON.stringify(served.map((r) => r.recommendationId));
  const purchases = await d
    .select()
    .from(recPurchases)
    .where(or(sql`${recPurchases.eventId} IN ${inJson(purchaseIds)}`, sql`${recPurchases.recommendationId} IN ${inJson(servedIds)}`))
    .all();

  const sessions = await sessionDumps(env, sessionObjects(s));
  const profile = profileRows[0] ?? null;
  return {
    generated_at: new Date().toISOString(),
    subject: { user_key: s.userKey, session_keys: allSessionKeys(s) },
    profile: profile && snake(profile),
    sessions,
    events: allEvents,
    recommendations_served: served.map(snake),
    attributed_purchases: purchases.map(snake),
    segments: await currentSegments(env, profile, sessions.map((x) => x.state)),
  };
}

/** Segments as serving would evaluate them now, from the profile and the sessions' state. */
async function currentSegments(env: Env, profile: typeof profiles.$inferSelect | null, states: SessionDump[]) {
  if (!profile && !states.length) return [];
  const [rules, catalog] = await Promise.all([getSegmentRules(env.DB), getServingCatalog(env).catch(() => null)]);
  const attrs: Record<string, number> = {};
  for (const st of states) for (const [k, w] of Object.entries(st.attrs)) attrs[k] = (attrs[k] ?? 0) + w;
  const now = Date.now();
  const features = {
    recent: states.flatMap((st) => st.recent.map((r) => ({ itemId: r.item_id, type: r.type, ts: r.ts }))).sort((a, b) => b.ts - a.ts),
    attrs,
    cart: [...new Set(states.flatMap((st) => st.cart.map((c) => c.item_id)))],
    purchased: [...new Set([...states.flatMap((st) => st.purchased.map((p) => p.item_id)), ...(profile?.purchases ?? [])])],
    profile,
    lastActivity: null,
  };
  return evaluateSegments(rules, segmentFeatures({ features, lookup: (id) => catalog?.facts(id), hour: new Date(now).getUTCHours(), now }));
}
