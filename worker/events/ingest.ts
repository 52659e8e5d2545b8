/**
 * Event ingestion: validate each event on its own, pseudonymize, and hand the batch (grouped by
 * session) to the events queue; the consumer (worker/events/consumer.ts) dedupes and writes the
 * R2 log. An event is reported accepted once the queue holds it; when the queue send fails, the
 * batch is held in the event buffer (worker/events/buffer.ts) and reported `buffered`: the buffer
 * sends it to the queue later. A browser-sized batch for one session is also applied to its
 * session object before the answer, which then reports duplicates exactly; for larger batches
 * `accepted` counts events handed on, and repeats of earlier ids are dropped by the consumer.
 */
import type { z } from '@hono/zod-openapi';
import type { EventRow } from '../db/schema';
import { pseudonymize } from '../identity/pseudonym';
import { isTokenShaped, verifyUserToken, type Consent } from '../identity/shopper';
import { zodIssues } from '../lib/errors';
import { numberVar } from '../lib/vars';
import { log } from '../ops/log';
import { EventSchema, type EventBatchResultSchema, type EventInput } from '../schemas/events';
import { bufferStub } from './buffer-client';
import { enqueue, toMessages, type EventMessage } from './message';
import { sessionStub } from '../session/client';
import { claimAll, groupBySession } from './session-feed';

export type IngestResult = z.output<typeof EventBatchResultSchema>;

/** Who sent the batch (worker/identity/shopper.ts resolveApiShopper). */
export interface BatchIdentity {
  consent: Consent;
  /** The request's verified shopper (token header or cookie), for events that name no user. */
  userId: string | null;
}

const MAX_FUTURE_MS = 24 * 3600_000;
/** A batch this small for one session (a browser beacon) updates its session object before the answer. */
export const INLINE_MAX_EVENTS = 20;
/** The inline claim waits at least this long, even when SESSION_BUDGET_MS is lower (it is a write). */
const INLINE_MIN_BUDGET_MS = 150;

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
  const outcome = await acceptRows(env, rows, now, waitUntil);
  // The session's object holds the batch now: a caller that sends this stamp with its next
  // request for the session gets an answer that reflects it, from any isolate (worker/session/stamp.ts).
  const stamp = outcome.inline ? { session_stamp: now } : {};
  const known = { ...base, ...stamp, duplicates: duplicates + outcome.duplicates, rejected, warnings: sortedWarnings() };
  return outcome.buffered && outcome.accepted ? { ...known, accepted: 0, buffered: outcome.accepted } : { ...known, accepted: outcome.accepted };
}

/**
 * Hand the rows to the queue (or, when the queue fails, to the event buffer: if that fails too
 * this throws, nothing was accepted and the caller retries the same ids). A browser-sized batch
 * for one session is also claimed by its session object inline, so the next recommendation sees
 * it; the consumer's later claim of the same message is a no-op. The claim runs while the queue
 * send does (the answer waits for the slower of the two, not their sum); a session object must
 * not keep ids whose events did not become durable, so when neither the queue nor the buffer took
 * them the claim is released before the error reaches the caller (docs/reliability.md).
 */
async function acceptRows(env: Env, rows: EventRow[], now: number, waitUntil?: (p: Promise<unknown>) => void): Promise<{ accepted: number; duplicates: number; buffered: boolean; inline: boolean }> {
  const messages = toMessages(rows, now);
  const sessions = new Set(rows.map((r) => r.sessionKey));
  const inline = sessions.size === 1 && rows.length <= INLINE_MAX_EVENTS ? claimInline(env, messages, waitUntil) : null;
  let buffered = false;
  try {
    await enqueue(env.EVENTS_QUEUE, messages);
  } catch (e) {
    log('error', 'event_enqueue_failed', { events: rows.length, error: (e as Error).message });
    try {
      await bufferStub(env).hold(messages);
    } catch (held) {
      if (inline) {
        inline.answer.catch(() => null);
        await releaseInline(env, messages, inline.work);
      }
      throw held;
    }
    buffered = true;
  }
  if (!inline) return { accepted: rows.length, duplicates: 0, buffered, inline: false };
  const stored = await inline.answer;
  return stored === null ? { accepted: rows.length, duplicates: 0, buffered, inline: false } : { accepted: stored, duplicates: rows.length - stored, buffered, inline: true };
}

/** Undo an inline claim whose events were not accepted (the caller will send them again). */
async function releaseInline(env: Env, messages: EventMessage[], work: Promise<unknown>): Promise<void> {
  await work.catch(() => null);
  const { sessionKey, userKey } = messages[0]!.rows[0]!;
  try {
    await sessionStub(env, sessionKey, userKey ?? null).release(messages.map((m) => m.claim));
  } catch (e) {
    // The session object keeps these ids: a resend within EVENT_DEDUPE_DAYS would count as duplicates.
    log('error', 'session_claim_release_failed', { events: messages.reduce((n, m) => n + m.rows.length, 0), error: (e as Error).message });
  }
}

/**
 * The inline claim: `answer` is the events the session object took as new, or null when it did
 * not answer within the budget (the consumer will); `work` settles when the call has.
 */
function claimInline(env: Env, messages: EventMessage[], waitUntil?: (p: Promise<unknown>) => void): { answer: Promise<number | null>; work: Promise<number | null> } {
  const budget = numberVar(env.SESSION_BUDGET_MS, 150);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), Math.max(budget, INLINE_MIN_BUDGET_MS))));
  const work = (async () => {
    const results = await claimAll(env, await groupBySession(env, messages, waitUntil));
    let stored = 0;
    for (const r of results.values()) {
      if (r instanceof Error) {
        log('warn', 'session_claim_inline_failed', { error: r.message });
        return null;
      }
      for (const m of messages) stored += r[m.claim]?.stored.length ?? 0;
    }
    return stored;
  })();
  waitUntil?.(work);
  return { work, answer: Promise.race([work, late]).finally(() => clearTimeout(timer)) };
}
