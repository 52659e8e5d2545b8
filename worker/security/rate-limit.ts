/**
 * Abuse limits on the public API, with Workers' rate-limiting bindings (wrangler.toml
 * [[ratelimits]]): one counter per client IP (RATE_LIMIT_IP) and one per shopper session
 * (RATE_LIMIT_SESSION; the session cookie, or the session_id of the query string). Over the
 * limit: 429 with a JSON error and Retry-After. The counters live in Cloudflare's rate limiter,
 * not in our storage, and are keyed with a pseudonym, never the raw IP or session id.
 * RATE_LIMITS = "off" disables them (local load tests, where every client is 127.0.0.1).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../api/types';
import { pseudonymize } from '../identity/pseudonym';
import { parseCookies, SESSION_COOKIE } from '../identity/shopper';
import { errorBody } from '../lib/errors';

async function over(limiter: RateLimit | undefined, key: string): Promise<boolean> {
  if (!limiter) return false;
  try {
    return !(await limiter.limit({ key })).success;
  } catch {
    // A limiter that fails must not take the API down with it.
    return false;
  }
}

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const env = c.env;
  if ((env.RATE_LIMITS as string) === 'off') return next();
  const ip = c.req.header('cf-connecting-ip');
  const session = parseCookies(c.req.header('cookie') ?? null).get(SESSION_COOKIE) ?? c.req.query('session_id');
  const [ipKey, sessionKey] = await Promise.all([
    ip ? pseudonymize(env, 's', `ip:${ip}`) : null,
    session ? pseudonymize(env, 's', session) : null,
  ]);
  const [ipOver, sessionOver] = await Promise.all([
    ipKey ? over(env.RATE_LIMIT_IP, ipKey) : false,
    sessionKey ? over(env.RATE_LIMIT_SESSION, sessionKey) : false,
  ]);
  if (ipOver || sessionOver) {
    return c.json(errorBody('rate_limited', `too many requests from this ${ipOver ? 'client' : 'session'}; retry after a minute`), 429, { 'Retry-After': '60' });
  }
  return next();
});
