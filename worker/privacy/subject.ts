/**
 * Whose data: the shopper named in an erasure or access request, as the pseudonymous keys the
 * stores hold. Sessions are the ones named plus every session the user was seen in (event log
 * and the user → session index).
 */
import { pseudonymize } from '../identity/pseudonym';
import type { ExportedEvent } from '../ops/export';
import type { ShopperRequest } from '../schemas/shoppers';

export interface Subject {
  userKey: string | null;
  sessionKeys: Set<string>;
}

/** The subject as workflow parameters (JSON): pseudonymous keys only, never the raw ids. */
export interface SubjectKeys {
  userKey: string | null;
  sessionKeys: string[];
}

/** The request's raw ids as pseudonymous keys (before anything is stored, e.g. a workflow's params). */
export async function pseudonymousKeys(env: Env, req: ShopperRequest): Promise<SubjectKeys> {
  const userKey = req.user_id ? await pseudonymize(env, 'u', req.user_id) : null;
  const sessionKeys = [...new Set(await Promise.all((req.session_ids ?? []).map((id) => pseudonymize(env, 's', id))))];
  return { userKey, sessionKeys };
}

export const toSubject = (k: SubjectKeys): Subject => ({ userKey: k.userKey, sessionKeys: new Set(k.sessionKeys) });
export const toKeys = (s: Subject): SubjectKeys => ({ userKey: s.userKey, sessionKeys: [...s.sessionKeys].sort() });

/** Add every session the user was seen in (the user → session index and the legacy D1 log). */
export async function resolveSubject(env: Env, keys: SubjectKeys): Promise<Subject> {
  const { userKey } = keys;
  const sessionKeys = new Set(keys.sessionKeys);
  if (userKey) {
    const { results } = await env.DB.prepare('SELECT session_key FROM shopper_sessions WHERE user_key = ?1 UNION SELECT session_key FROM events WHERE user_key = ?1')
      .bind(userKey)
      .all<{ session_key: string }>();
    for (const r of results) sessionKeys.add(r.session_key);
  }
  return { userKey, sessionKeys };
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
