/**
 * Whose data: the shopper named in an erasure or access request, as the pseudonymous keys the
 * stores hold. Filtered by the shopper's own key: of the sessions the user was seen in (event log
 * and the user → session index) only the user's part counts — events under their key and their
 * own (session, user) objects — never what someone else did in the same session anonymously.
 * Sessions the request names explicitly are covered whole (the operator vouches for them).
 */
import { pseudonymize } from '../identity/pseudonym';
import type { ExportedEvent } from '../ops/export';
import type { ShopperRequest } from '../schemas/shoppers';

export interface Subject {
  userKey: string | null;
  /** Sessions the request named: all their events and state, anonymous too. */
  sessionKeys: Set<string>;
  /** Sessions the user was seen in: only the user's own objects there. */
  userSessionKeys: Set<string>;
}

/** The (session, shopper) objects that hold the subject's state (worker/session/client.ts). */
export function sessionObjects(s: Subject, userSessions: Iterable<string> = s.userSessionKeys): { sessionKey: string; userKey: string | null }[] {
  const out = new Map<string, { sessionKey: string; userKey: string | null }>();
  const add = (sessionKey: string, userKey: string | null) => out.set(`${sessionKey}/${userKey ?? ''}`, { sessionKey, userKey });
  for (const k of s.sessionKeys) {
    add(k, null);
    if (s.userKey) add(k, s.userKey);
  }
  if (s.userKey) for (const k of userSessions) add(k, s.userKey);
  return [...out.values()].sort((a, b) => a.sessionKey.localeCompare(b.sessionKey) || String(a.userKey).localeCompare(String(b.userKey)));
}

/** Every session key the subject covers, for receipts and exports. */
export function allSessionKeys(s: Subject): string[] {
  return [...new Set([...s.sessionKeys, ...s.userSessionKeys])].sort();
}

/** The subject as workflow parameters and step results (JSON): pseudonymous keys only, never the raw ids. */
export interface SubjectKeys {
  userKey: string | null;
  sessionKeys: string[];
  userSessionKeys?: string[];
}

/** The request's raw ids as pseudonymous keys (before anything is stored, e.g. a workflow's params). */
export async function pseudonymousKeys(env: Env, req: ShopperRequest): Promise<SubjectKeys> {
  const userKey = req.user_id ? await pseudonymize(env, 'u', req.user_id) : null;
  const sessionKeys = [...new Set(await Promise.all((req.session_ids ?? []).map((id) => pseudonymize(env, 's', id))))].sort();
  return { userKey, sessionKeys };
}

export const toSubject = (k: SubjectKeys): Subject => ({ userKey: k.userKey, sessionKeys: new Set(k.sessionKeys), userSessionKeys: new Set(k.userSessionKeys ?? []) });
export const toKeys = (s: Subject): Required<SubjectKeys> => ({ userKey: s.userKey, sessionKeys: [...s.sessionKeys].sort(), userSessionKeys: [...s.userSessionKeys].sort() });

/** Add the sessions the user was seen in (the user → session index and the legacy D1 log). */
export async function resolveSubject(env: Env, keys: SubjectKeys): Promise<Subject> {
  const s = toSubject(keys);
  if (s.userKey) {
    const { results } = await env.DB.prepare('SELECT session_key FROM shopper_sessions WHERE user_key = ?1 UNION SELECT session_key FROM events WHERE user_key = ?1')
      .bind(s.userKey)
      .all<{ session_key: string }>();
    for (const r of results) s.userSessionKeys.add(r.session_key);
  }
  return s;
}

/** Is this event (D1 or R2 row) the subject's? */
export function ownsEvent(s: Subject, e: Pick<ExportedEvent, 'user_key' | 'session_key'>): boolean {
  return (s.userKey !== null && e.user_key === s.userKey) || s.sessionKeys.has(String(e.session_key));
}

/** Pseudonymous keys as JSON parameters for `IN (SELECT value FROM json_each(?))`. */
export function keysJson(s: Subject): { sessions: string; units: string } {
  const sessions = [...s.sessionKeys];
  return { sessions: JSON.stringify(sessions), units: JSON.stringify(s.userKey ? [s.userKey, ...sessions] : sessions) };
}
