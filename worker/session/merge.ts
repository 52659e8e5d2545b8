/**
 * Login through the proxy: the browser's previous anonymous session (its HttpOnly cookie, issued
 * by the worker) hands its history to the user's new session object. Fail-open: a failed merge is
 * logged and the page is served; the events stay in the log either way.
 */
import { pseudonymize } from '../identity/pseudonym';
import { log } from '../ops/log';
import { sessionStub } from './client';

export async function mergeAtLogin(env: Env, from: { sessionId: string }, to: { sessionId: string; userId: string }): Promise<void> {
  try {
    const [fromKey, toKey, userKey] = await Promise.all([pseudonymize(env, 's', from.sessionId), pseudonymize(env, 's', to.sessionId), pseudonymize(env, 'u', to.userId)]);
    await sessionStub(env, toKey, userKey).mergeAnonymous(userKey, fromKey);
  } catch (e) {
    log('warn', 'login_merge_failed', { error: (e as Error).message });
  }
}
