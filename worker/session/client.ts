/** Reaching a session's Durable Object. The object is named by the session's pseudonymous key. */
import type { SessionState } from './durable-object';

export function sessionStub(env: Env, sessionKey: string): DurableObjectStub<SessionState> {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionKey));
}
