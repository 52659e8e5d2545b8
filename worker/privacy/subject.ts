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

export async function resolveSubject(env: Env, req: ShopperRequest): Promise<Subject> {
  const userKey = req.user_id ? await pseudonymize(env, 'u', req.user_id) : null;
  const sessionKeys = new Set(await Promise.all((req.session_ids ?? []).map((id) => pseudonymize(env, 's', id))));
  const userSessionKeys = new Set<string>();
  if (userKey) {
    const { results } = await env.DB.prepare('SELECT session_key FROM shopper_sessions WHERE user_key = ?1 UNION SELECT session_key FROM events WHERE user_key = ?1')
      .bind(userKey)
      .all<{ session_key: string }>();
    for (const r of results) userSessionKeys.add(r.session_key);
  }
  return { userKey, sessionKeys, userSessionKeys };
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
