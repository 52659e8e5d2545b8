/**
 * Admin authentication: `Authorization: Bearer <token>` checked against the ADMIN_TOKEN
 * secret (and ADMIN_TOKEN_NEXT during a rotation) in constant time.
 */
import { createMiddleware } from 'hono/factory';
import { jsonError } from '../lib/errors';
import { matchesSecret } from '../security/same-secret';
import type { AppEnv } from './types';

export async function isAdmin(env: Env, header: string | undefined): Promise<boolean> {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m ? isAdminToken(env, m[1]!.trim()) : false;
}

/** Whether a token is the admin token (or the next one during a rotation); also the console's login. */
export async function isAdminToken(env: Pick<Env, 'ADMIN_TOKEN' | 'ADMIN_TOKEN_NEXT'>, token: string): Promise<boolean> {
  return matchesSecret(token, [env.ADMIN_TOKEN, env.ADMIN_TOKEN_NEXT].filter((t): t is string => !!t && t.length >= 16));
}

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!(await isAdmin(c.env, c.req.header('authorization')))) {
    c.header('WWW-Authenticate', 'Bearer realm="p13n-admin"');
    return jsonError(c, 401, 'unauthorized', 'a valid admin bearer token is required');
  }
  await next();
});
