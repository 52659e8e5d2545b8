/**
 * Right of access: everything held about a shopper, as one JSON document — the profile, each
 * session object's state, the event log (the R2 log, the legacy D1 rows and events still held in
 * the buffer), the experiment records of recommendations served to them and purchases attributed
 * to those, and their current segments. The access workflow (worker/privacy/access-workflow.ts)
 * runs these steps and stores the document in R2 under ACCESS_EXPORT_PREFIX, where it is kept
 * ACCESS_EXPORT_DAYS for the caller to fetch (GET /v1/admin/shoppers/export/{id}).
 */
import { eq, or, sql } from 'drizzle-orm';
import { getServingCatalog } from '../catalog/serving';
import { db } from '../db/client';
import { events, profiles, recPurchases, recServed } from '../db/schema';
import { evaluateSegments, getSegmentRules, segmentFeatures } from '../experiments/segments';
import { toExportedEvent, type ExportedEvent } from '../ops/export';
import type { ShopperExport } from '../schemas/shoppers';
import { bufferStub } from '../events/buffer-client';
import { sessionStub } from '../session/client';
import type { SessionDump } from '../session/durable-object';
import { archivePage, readArchivedEvents, type ArchivePosition } from './archive';
import { keysJson, type Subject } from './subject';

export const ACCESS_EXPORT_PREFIX = 'rights/exports/';
export const ACCESS_EXPORT_DAYS = 7;
export const accessExportKey = (id: string) => `${ACCESS_EXPORT_PREFIX}${id}.json`;

type Row = Record<string, unknown>;
type ProfileRow = typeof profiles.$inferSelect;

/** camelCase row keys -> the snake_case the API speaks. */
export function snake(row: object): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

/** One page of the R2 event log: the subject's rows in it, and sessions only the archive names. */
export async function readArchivePage(env: Env, s: Subject, pos: ArchivePosition): Promise<{ rows: ExportedEvent[]; newSessions: string[]; next: ArchivePosition | null }> {
  const { keys, next } = await archivePage(env.EXPORTS, pos);
  return { ...(await readArchivedEvents(env.EXPORTS, s, keys)), next };
}

/** Events still waiting in the buffer (held while the queue was failing). */
export async function bufferedEvents(env: Env, s: Subject): Promise<ExportedEvent[]> {
  const held = await bufferStub(env).heldFor(s.userKey, [...s.sessionKeys]);
  return held.map((e) => toExportedEvent({ recommendationId: null, slot: null, userKey: null, value: null, ...e }));
}

/** The state of one chunk of (session, shopper) objects. */
export async function sessionStates(env: Env, objects: { sessionKey: string; userKey: string | null }[]): Promise<{ session_key: string; state: SessionDump }[]> {
  const dumps = await Promise.all(objects.map((o) => sessionStub(env, o.sessionKey, o.userKey).dump()));
  return objects.flatMap((o, i) => (dumps[i] ? [{ session_key: o.sessionKey, state: dumps[i] }] : []));
}

/** D1: the profile, legacy event rows, served recommendations and attributed purchases (of `purchaseIds` too). */
export async function d1Records(env: Env, s: Subject, archivedPurchaseIds: string[]): Promise<{ profile: ProfileRow | null; events: ExportedEvent[]; served: Row[]; purchases: Row[] }> {
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
  const purchaseIds = JSON.stringify([...archivedPurchaseIds, ...eventRows.filter((e) => e.type === 'purchase').map((e) => e.eventId)]);
  const servedIds = JSON.stringify(served.map((r) => r.recommendationId));
  const purchases = await d
    .select()
    .from(recPurchases)
    .where(or(sql`${recPurchases.eventId} IN ${inJson(purchaseIds)}`, sql`${recPurchases.recommendationId} IN ${inJson(servedIds)}`))
    .all();
  const profile = profileRows[0] ?? null;
  return { profile, events: eventRows.map(toExportedEvent), served: served.map(snake), purchases: purchases.map(snake) };
}

/** Every source's events once (by id), oldest first. */
export function mergeEvents(...sources: ExportedEvent[][]): ExportedEvent[] {
  const byId = new Map<string, ExportedEvent>();
  for (const rows of sources) for (const e of rows) byId.set(String(e.event_id), e);
  return [...byId.values()].sort((a, b) => Number(a.ts) - Number(b.ts) || String(a.event_id).localeCompare(String(b.event_id)));
}

/** Segments as serving would evaluate them now, from the profile and the sessions' state. */
export async function currentSegments(env: Env, profile: ProfileRow | null, states: SessionDump[]): Promise<ShopperExport['segments']> {
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

/** Store the document; the workflow's last step. */
export async function storeAccessExport(env: Env, id: string, doc: ShopperExport): Promise<{ key: string; events: number; bytes: number }> {
  const body = JSON.stringify(doc);
  const key = accessExportKey(id);
  await env.EXPORTS.put(key, body, { httpMetadata: { contentType: 'application/json' } });
  return { key, events: doc.events.length, bytes: body.length };
}
