/** The session's real-time features from its Durable Object, within a time budget. */
import { numberVar } from '../lib/vars';
import { noteFault } from '../ops/faults';
import { log } from '../ops/log';
import type { Timing } from '../lib/timing';
import { sessionStub } from '../session/client';
import { emptyFeatures, type SessionFeatures } from '../session/durable-object';
import { cachedFeatures, rememberFeatures } from '../session/features-cache';

const DEFAULT_SESSION_BUDGET_MS = 150;

/**
 * The session's features, or null (an unknown shopper) when its object fails or misses its time
 * budget. A recent read in this isolate answers without the object (worker/session/features-cache.ts);
 * `notBefore` is the time of the session's last accepted event batch when the request knows it.
 */
export async function sessionFeatures(
  env: Env,
  sessionKey: string | null,
  userKey: string | null,
  { newSession = false, notBefore = 0, timing, pageReads }: { newSession?: boolean; notBefore?: number; timing: Timing; pageReads?: Map<string, Promise<unknown>> },
): Promise<SessionFeatures | null> {
  if (!sessionKey) return null;
  // A session minted by this request has nothing stored yet; without a user (whose profile the
  // object would load) asking its object would only create it.
  if (newSession && !userKey) return emptyFeatures();
  const cached = cachedFeatures(env, sessionKey, userKey, notBefore);
  if (cached) {
    timing.add('session-cache', 0);
    return cached;
  }
  // The slots of one page ask at the same moment: one read serves them all (never shared across
  // requests: a promise must not outlive the request whose I/O settles it).
  const key = `session:${sessionKey}|${userKey ?? ''}`;
  let read = pageReads?.get(key) as Promise<SessionFeatures | null> | undefined;
  if (!read) {
    read = fromObject(env, sessionKey, userKey);
    pageReads?.set(key, read);
  }
  return timing.measure('session', read);
}

async function fromObject(env: Env, sessionKey: string, userKey: string | null): Promise<SessionFeatures | null> {
  const readAt = Date.now();
  const budget = numberVar(env.SESSION_BUDGET_MS, DEFAULT_SESSION_BUDGET_MS);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`session object did not answer within ${budget} ms`)), budget)));
    const features = await Promise.race([sessionStub(env, sessionKey, userKey).features(userKey), late]);
    rememberFeatures(env, sessionKey, userKey, features, readAt);
    return features;
  } catch (e) {
    // A failing or slow session object degrades to "unknown shopper", never to an error.
    log('warn', 'session_features_failed', { error: (e as Error).message });
    noteFault('session_object', (e as Error).message);
    return null;
  } finally {
    clearTimeout(timer);
  }
}
