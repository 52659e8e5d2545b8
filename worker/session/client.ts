/**
 * Reaching a session's Durable Object. There is one object per (session, shopper): the anonymous
 * state of a session is named by its pseudonymous key, a signed-in shopper's by the session and
 * user keys together. So whoever names a session id never reads or merges another person's state.
 */
import type { SessionState } from './durable-object';

export function sessionObjectName(sessionKey: string, userKey: string | null): string {
  return userKey ? `${sessionKey}/${userKey}` : sessionKey;
}

/** The (session, shopper) an object name stands for. */
export function parseSessionObjectName(name: string): { sessionKey: string; userKey: string | null } {
  const [sessionKey = '', userKey] = name.split('/');
  return { sessionKey, userKey: userKey ?? null };
}

export function sessionStub(env: Env, sessionKey: string, userKey: string | null): DurableObjectStub<SessionState> {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionObjectName(sessionKey, userKey)));
}
