/**
 * Event ingestion: validate each event on its own, store new ones in the D1 event log
 * (idempotent per event_id), then feed only the newly stored ones to their sessions'
 * Durable Objects. An event is reported accepted once D1 holds it; when the D1 write fails
 * or times out, the batch is held in the event buffer (worker/events/buffer.ts) and reported
 * `buffered`: it is stored later, exactly once, by the buffer's retries.
 */
import type { z } from '@hono/zod-openapi';
import { getServingCatalog } from '../catalog/serving';
import { chunk, db, rowsPerStatement, runBatch } from '../db/client';
import { events as eventsTable, type EventRow } from '../db/schema';
import { attributeAfterInsert, planEventAttribution } from '../experiments/ingest-hooks';
import { pseudonymize } from '../identity/pseudonym';
import { isTokenShaped, verifyUserToken, type Consent } from '../identity/shopper';
import { zodIssues } from '../lib/errors';
import { log } from '../ops/log';
import { sessionLinkStatements } from '../privacy/session-index';
import { attrKeys } from '../ranking/history';
import { EventSchema, type EventBatchResultSchema, type EventInput } from '../schemas/events';
import { sessionStub } from '../session/client';
import type { SessionEvent } from '../session/profile';
import { bufferStub } from './buffer-client';

export type IngestResult = z.output<typeof EventBatchResultSchema>;

/** Who sent the batch (worker/identity/shopper.ts resolveApiShopper). */
export interface BatchIdentity {
  consent: Consent;
  /** The request's verified shopper (token header or cookie), for events that name no user. */
  userId: string | null;
}

const MAX_FUTURE_MS = 24 * 3600_000;
const COLUMNS = 10;

export async function ingestEvents(
  env: Env,
  raw: unknown[],
  identity: BatchIdentity,
  waitUntil?: (p: Promise<unknown>) => void,
): Promise<IngestResult> {
  const base = { accepted: 0, duplicates: 0, consent: identity.consent, not_stored: 0, rejected: [], warnings: [] };
  // Without consent nothing about the shopper is kept, not even a rejected event's id.
  if (identity.consent !== 'full') return { ...base, not_stored: raw.length };
  const rejected: IngestResult['rejected'] = [];
  const warnings: IngestResult['warnings'] = [];
  const valid: (EventInput & { index: number })[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const now = Date.now();
  raw.forEach((r, index) => {
    const parsed = EventSchema.safeParse(r);
    const id = typeof (r as { event_id?: unknown })?.event_id === 'string' ? (r as { event_id: string }).event_id : null;
    if (!parsed.success) return rejected.push({ index, event_id: id, issues: zodIssues(parsed.error, ['events', index]) });
    if (parsed.data.timestamp > now + MAX_FUTURE_MS) {
      return rejected.push({ index, event_id: id, issues: [{ field: `events.${index}.timestamp`, message: 'is more than a day in the future' }] });
    }
    if (seen.has(parsed.data.event_id)) return duplicates++;
    seen.add(parsed.data.event_id);
    valid.push({ ...parsed.data, index });
  });
  if (!valid.length) return { ...base, duplicates, rejected };

  const keys = new Map<string, Promise<string>>();
  const key = (kind: 'u' | 's', id: string) => {
    const k = `${kind}:${id}`;
    if (!keys.has(k)) keys.set(k, pseudonymize(env, kind, id));
    return keys.get(k)!;
  };
  const users = new Map<string, Promise<string | null>>();
  const userOf = async (e: (typeof valid)[number]): Promise<string | null> => {
    // Only a signed token names a shopper; a bare user_id is a forgeable claim.
    const verify = (token: string) => {
      if (!users.has(token)) users.set(token, verifyUserToken(env, token));
      return users.get(token)!;
    };
    const warn = (field: string, message: string) => warnings.push({ index: e.index, event_id: e.event_id, field: `events.${e.index}.${field}`, message });
    if (e.user_token !== undefined) {
      const id = await verify(e.user_token);
      if (!id) warn('user_token', 'is not a valid, unexpired signed token; stored as anonymous');
      return id;
    }
    if (e.user_id !== undefined) {
      const id = isTokenShaped(e.user_id) ? await verify(e.user_id) : null;
      if (id) return id;
      warn('user_id', `is not a valid signed shopper token; stored ${identity.userId ? "under the request's token" : 'as anonymous'}`);
    }
    return identity.userId;
  };
  const rows: EventRow[] = await Promise.all(
    valid.map(async (e) => {
      const userId = await userOf(e);
      return {
        eventId: e.event_id,
        type: e.type,
        itemId: e.item_id,
        sessionKey: await key('s', e.session_id),
        userKey: userId ? await key('u', userId) : null,
        ts: e.timestamp,
        recommendationId: e.recommendation_id ?? null,
        slot: e.slot ?? null,
        value: e.value ?? null,
        receivedAt: now,
      };
    }),
  );

  const sortedWarnings = () => warnings.sort((a, b) => a.index - b.index);
  try {
    const accepted = await storeEvents(env, rows, waitUntil);
    return { ...base, accepted, duplicates: duplicates + rows.length - accepted, rejected, warnings: sortedWarnings() };
  } catch (e) {
    // D1 failed or timed out. If the buffer cannot take the batch either, this throws (503):
    // nothing was accepted and the caller retries the same event ids.
    log('error', 'event_store_failed', { events: rows.length, error: (e as Error).message });
    await bufferStub(env).hold(rows);
    return { ...base, accepted: 0, buffered: rows.length, duplicates, rejected, warnings: sortedWarnings() };
  }
}

/**
 * Write events to the D1 log (and their experiment attribution, in the same batch), then feed
 * the newly stored ones to their sessions. Returns how many were new. Safe to repeat: an
 * event_id already in D1 is not stored again. `received_at` is the time D1 stores the event,
 * so a buffered event stored late still falls after the export watermark (worker/ops/export.ts).
 */
export async function storeEvents(env: Env, pending: EventRow[], waitUntil?: (p: Promise<unknown>) => void): Promise<number> {
  const receivedAt = Date.now();
  const rows = pending.map((r) => ({ ...r, receivedAt }));
  const d = db(env.DB);
  const stmts = chunk(rows, rowsPerStatement(COLUMNS)).map((part) =>
    d.insert(eventsTable).values(part).onConflictDoNothing({ target: eventsTable.eventId }).returning({ id: eventsTable.eventId }),
  );
  // Attribution to experiment recommendations runs in the same D1 batch (one transaction).
  const attribution = await planEventAttribution(env, d, rows);
  // The user → session index (for erasure and access) joins the same batch, after attribution.
  const all = await runBatch(d, [...stmts, ...attribution.statements, ...sessionLinkStatements(d, rows)]);
  const results = all.slice(0, stmts.length) as { id: string }[][];
  await attributeAfterInsert(env, attribution, all.slice(stmts.length), waitUntil);
  const inserted = new Set(results.flat().map((r) => r.id));
  const fresh = rows.filter((r) => inserted.has(r.eventId));
  if (fresh.length) await feedSessions(env, fresh, waitUntil);
  return inserted.size;
}

/** Session features follow the log; a failure here loses nothing (the log has the event). */
async function feedSessions(env: Env, rows: EventRow[], waitUntil?: (p: Promise<unknown>) => void): Promise<void> {
  const catalog = await getServingCatalog(env, waitUntil).catch(() => null);
  const bySession = new Map<string, { userKey: string | null; events: SessionEvent[] }>();
  for (const r of rows) {
    const item = catalog?.facts(r.itemId);
    const g = bySession.get(r.sessionKey) ?? { userKey: r.userKey ?? null, events: [] };
    if (r.userKey) g.userKey = r.userKey;
    g.events.push({ eventId: r.eventId, type: r.type, itemId: r.itemId, ts: r.ts, value: r.value, attrs: item ? attrKeys(item) : [] });
    bySession.set(r.sessionKey, g);
  }
  await Promise.all(
    [...bySession].map(([sessionKey, g]) =>
      sessionStub(env, sessionKey)
        .ingest(g.events, g.userKey)
        .catch((e: Error) => log('error', 'session_ingest_failed', { events: g.events.length, error: e.message })),
    ),
  );
}

