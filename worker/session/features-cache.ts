/**
 * Session features as this isolate last read them from the session's object. A page asks for
 * several slots and the shopper's next page comes seconds later: without this, every one of those
 * requests pays a Durable Object round trip (most of a recommendation's cost, docs/benchmarks.md).
 *
 * Freshness: an entry is dropped whenever this isolate hands the session events (inline ingestion
 * and the queue consumer, worker/events/session-feed.ts) or erases it, and a request that carries
 * the time of the session's last accepted batch (the `p13n_sv` stamp) never uses an entry read
 * before it; otherwise an entry lives at most SESSION_CACHE_MS (events another isolate processed
 * show up within that). Memory is bounded by the features held, not the sessions seen.
 */
import { Lru } from '../lib/lru';
import { numberVar } from '../lib/vars';
import type { SessionFeatures } from './durable-object';

const DEFAULT_TTL_MS = 30_000;
/** About 100 bytes of heap per unit (a recent item, an attribute, a profile entry): ~4 MB. */
const BUDGET_UNITS = 40_000;

interface Entry {
  userKey: string | null;
  /** null: the session changed at `at` (a read started before then is stale) */
  features: SessionFeatures | null;
  at: number;
}

const cache = new Lru<string, Entry>(BUDGET_UNITS);

function weight(f: SessionFeatures | null): number {
  if (!f) return 1;
  const p = f.profile;
  const profileUnits = p ? Object.keys(p.affinities).length + p.recentItems.length + p.purchases.length : 0;
  return 4 + f.recent.length + Object.keys(f.attrs).length + f.cart.length + f.purchased.length + profileUnits;
}

export function sessionCacheMs(env: Env): number {
  return numberVar(env.SESSION_CACHE_MS, DEFAULT_TTL_MS);
}

/** The cached features of (session, user), if read within the TTL and not before `notBefore`. */
export function cachedFeatures(env: Env, sessionKey: string, userKey: string | null, notBefore = 0): SessionFeatures | undefined {
  const e = cache.get(sessionKey);
  if (!e?.features || e.userKey !== userKey) return undefined;
  if (e.at < notBefore || Date.now() - e.at >= sessionCacheMs(env)) {
    cache.delete(sessionKey);
    return undefined;
  }
  return e.features;
}

export function rememberFeatures(env: Env, sessionKey: string, userKey: string | null, features: SessionFeatures, readAt: number): void {
  if (sessionCacheMs(env) <= 0) return;
  const prior = cache.get(sessionKey);
  // The session changed while this read was on its way: what it brought may predate the change.
  if (prior && !prior.features && prior.at >= readAt) return;
  cache.set(sessionKey, { userKey, features, at: readAt }, weight(features));
}

/** The session changed (events, erasure): the next read goes to its object. */
export function forgetFeatures(sessionKey: string): void {
  cache.set(sessionKey, { userKey: null, features: null, at: Date.now() }, 1);
}

/** `work` changes the session's object: nothing read before it ends, or while it runs, is reused. */
export async function changingSession<T>(sessionKey: string, work: () => Promise<T>): Promise<T> {
  forgetFeatures(sessionKey);
  try {
    return await work();
  } finally {
    forgetFeatures(sessionKey);
  }
}
