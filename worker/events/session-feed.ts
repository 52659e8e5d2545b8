/**
 * Hand events to their sessions' Durable Objects: one claim() call per session for any number of
 * messages (worker/session/durable-object.ts). Used inline for a browser's batch and by the consumer.
 */
import { getServingCatalog } from '../catalog/serving';
import { attrKeys } from '../ranking/history';
import type { ClaimBatch, ClaimResult } from '../session/durable-object';
import { sessionObjectName, sessionStub } from '../session/client';
import { changingSession } from '../session/features-cache';
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

/**
 * Session-object calls in flight at once. A consumer delivery can name thousands of sessions:
 * firing every call at once queues thousands of RPCs ahead of the isolate's other work (locally
 * one thread also serves POST /v1/events, whose batches then waited seconds behind them).
 */
export const CLAIM_CONCURRENCY = 8;

/**
 * Let the isolate's network I/O in. workerd's event loop polls sockets only when no other event
 * is ready, and a chain of in-process calls (session objects locally) always has one ready: a
 * long delivery held every HTTP request of the isolate until it ended (81 s in the bench). A
 * zero timer resolves only after the next poll.
 */
const yieldToIo = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** claim() on every session, CLAIM_CONCURRENCY at a time; a failed session maps to its error. */
export async function claimAll(env: Env, groups: Map<string, SessionGroup>): Promise<Map<string, Record<string, ClaimResult> | Error>> {
  const todo = [...groups];
  const out = new Map<string, Record<string, ClaimResult> | Error>();
  const worker = async () => {
    for (let next = todo.pop(); next; next = todo.pop()) {
      const [key, g] = next;
      try {
        out.set(key, (await changingSession(g.sessionKey, () => sessionStub(env, g.sessionKey, g.userKey).claim(g.batches, g.userKey))) as Record<string, ClaimResult>);
      } catch (e) {
        out.set(key, e as Error);
      }
      await yieldToIo();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CLAIM_CONCURRENCY, todo.length) }, worker));
  return out;
}
