/** The session's real-time features from its Durable Object, within a time budget. */
import { numberVar } from '../lib/vars';
import { noteFault } from '../ops/faults';
import { log } from '../ops/log';
import { sessionStub } from '../session/client';
import { emptyFeatures, type SessionFeatures } from '../session/durable-object';

const DEFAULT_SESSION_BUDGET_MS = 150;

/** The session's features, or null (an unknown shopper) when its object fails or misses its time budget. */
export async function sessionFeatures(env: Env, sessionKey: string | null, userKey: string | null, newSession: boolean): Promise<SessionFeatures | null> {
  if (!sessionKey) return null;
  // A session minted by this request has nothing stored yet; without a user (whose profile the
  // object would load) asking its object would only create it.
  if (newSession && !userKey) return emptyFeatures();
  const budget = numberVar(env.SESSION_BUDGET_MS, DEFAULT_SESSION_BUDGET_MS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`session object did not answer within ${budget} ms`)), budget)));
    return await Promise.race([sessionStub(env, sessionKey, userKey).features(userKey), late]);
  } catch (e) {
    // A failing or slow session object degrades to "unknown shopper", never to an error.
    log('warn', 'session_features_failed', { error: (e as Error).message });
    noteFault('session_object', (e as Error).message);
    return null;
  } finally {
    clearTimeout(timer);
  }
}
