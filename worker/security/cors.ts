/**
 * CORS for the public API: only origins on the CORS_ORIGINS allow-list (comma-separated, exact
 * "https://shop.example" values) may call it from a browser. Empty list: same-origin only, which
 * is what the HTML proxy and its snippet need. Admin routes never answer cross-origin.
 */
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../api/types';

const lists = new Map<string, Set<string>>();

function allowList(raw: string | undefined): Set<string> {
  const key = raw ?? '';
  let set = lists.get(key);
  if (!set) {
    set = new Set(key.split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean));
    lists.set(key, set);
  }
  return set;
}

const handler = cors({
  origin: (origin, c) => (allowList((c.env as Env).CORS_ORIGINS).has(origin) ? origin : null),
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  allowHeaders: ['content-type', 'authorization', 'x-p13n-user-token', 'x-p13n-consent', 'x-p13n-session-stamp', 'x-request-id'],
  exposeHeaders: ['x-request-id', 'x-recommendation-id', 'server-timing', 'x-p13n-fallback', 'x-p13n-consent', 'x-p13n-identity'],
  credentials: true,
  maxAge: 600,
});

export const publicCors = createMiddleware<AppEnv>((c, next) => handler(c, next));
