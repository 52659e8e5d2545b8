/**
 * Hand events to their sessions' Durable Objects: one claim() call per session for any number of
 * messages (worker/session/durable-object.ts). Used inline for a browser's batch and by the consumer.
 */
import { getServingCatalog } from '../catalog/serving';
import { attrKeys } from '../ranking/history';
import type { ClaimBatch, ClaimResult } from '../session/durable-object';
import { sessionObjectName, sessionStub } from '../session/client';
import { forgetFeatures } from '../session/features-cache';
import type { EventMessage } from './message';

export interface SessionGroup {
  sessionKey: string;
  userKey: string | null;
  batches: ClaimBatch[];
  /** claims (messages) with events in this session */
  claims: Set<string>;
}

/** Messages' rows by session object (session and shopper: sessionObjectName), each with its claims' events as the object takes them. */
export async function groupBySession(env: Env, messages: EventMessage[], waitUntil?: (p: Promise<unknown>) => void): Promise<Map<string, SessionGroup>> {
  const catalog = await getServingCatalog(env, waitUntil).catch(() => null);
  const out = new Map<string, SessionGroup>();
  for (const m of messages) {
    for (const r of m.rows) {
      const name = sessionObjectName(r.sessionKey, r.userKey ?? null);
      const g: SessionGroup = out.get(name) ?? { sessionKey: r.sessionKey, userKey: r.userKey ?? null, batches: [], claims: new Set<string>() };
      out.set(name, g);
      let b = g.batches.find((x) => x.claim === m.claim);
      if (!b) g.batches.push((b = { claim: m.claim, events: [] }));
      g.claims.add(m.claim);
      const item = catalog?.facts(r.itemId);
      b.events.push({ eventId: r.eventId, type: r.type, itemId: r.itemId, ts: r.ts, value: r.value ?? null, attrs: item ? attrKeys(item) : [], recommendationId: r.recommendationId ?? null });
    }
  }
  return out;
}

/** claim() on every session object, in parallel (keyed like the groups); a failed object maps to its error. */
export async function claimAll(env: Env, groups: Map<string, SessionGroup>): Promise<Map<string, Record<string, ClaimResult> | Error>> {
  const entries = await Promise.all(
    [...groups].map(async ([key, g]): Promise<[string, Record<string, ClaimResult> | Error]> => {
      try {
        forgetFeatures(g.sessionKey);
        const r = await sessionStub(env, g.sessionKey, g.userKey).claim(g.batches, g.userKey);
        forgetFeatures(g.sessionKey); // and anything read while the claim was on its way
        return [key, r as Record<string, ClaimResult>];
      } catch (e) {
        return [key, e as Error];
      }
    }),
  );
  return new Map(entries);
}
