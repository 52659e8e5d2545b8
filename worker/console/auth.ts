/**
 * Who may open the operator console (docs/console.md), in this order:
 *  1. Cloudflare Access: a `Cf-Access-Jwt-Assertion` header signed by the team's key set
 *     (https://<ACCESS_TEAM_DOMAIN>/cdn-cgi/access/certs), `aud` = ACCESS_AUD, `iss` = the team
 *     domain; only when both are set. Verified by worker/identity/jwt.ts.
 *  2. The console session cookie set by the login form: an HS256 JWT (hono/utils/jwt) that
 *     expires after SESSION_TTL_S, signed with a key derived from ADMIN_TOKEN (or
 *     ADMIN_TOKEN_NEXT), never the token itself; rotating the admin token ends every session.
 *  3. The admin bearer header, as for the admin API (scripts, tests).
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { Jwt } from 'hono/utils/jwt';
import { isAdmin, isAdminToken } from '../api/admin-auth';
import type { AppEnv } from '../api/types';
import { base64url, hmac } from '../identity/pseudonym';
import { verifyWithJwksUrl } from '../identity/jwt';

export const CONSOLE_COOKIE = 'p13n_console';
export const SESSION_TTL_S = 8 * 3600;
const ISSUER = 'p13n-console';

export interface ConsoleAuthEnv {
  ADMIN_TOKEN?: string;
  ADMIN_TOKEN_NEXT?: string;
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
}

export type Operator = { via: 'access'; email: string | null } | { via: 'session' } | { via: 'bearer' };

/** The session-signing key of one admin token (a MAC of it: the cookie never carries the token). */
async function sessionKey(adminToken: string): Promise<string> {
  return base64url(await hmac(adminToken, 'p13n-console-session-v1'));
}

const tokens = (env: ConsoleAuthEnv) => [env.ADMIN_TOKEN, env.ADMIN_TOKEN_NEXT].filter((t): t is string => !!t && t.length >= 16);

/** A new session value for an operator who proved the admin token. */
export async function newSession(env: ConsoleAuthEnv, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return Jwt.sign({ iss: ISSUER, sub: 'operator', iat, exp: iat + SESSION_TTL_S }, await sessionKey(tokens(env)[0]!), 'HS256');
}

/** Whether a session value was signed by us (with a current admin token) and has not expired. */
export async function validSession(env: ConsoleAuthEnv, value: string | undefined): Promise<boolean> {
  if (!value) return false;
  for (const t of tokens(env)) {
    try {
      const claims = await Jwt.verify(value, await sessionKey(t), { alg: 'HS256', iss: ISSUER });
      if (typeof claims.exp === 'number') return true;
    } catch {
      // another key, or forged / expired
    }
  }
  return false;
}

/** The Access assertion's claims when Access is configured and the header verifies, else null. */
export async function accessOperator(env: ConsoleAuthEnv, assertion: string | undefined): Promise<{ email: string | null } | null> {
  const team = env.ACCESS_TEAM_DOMAIN?.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!team || !env.ACCESS_AUD || !assertion) return null;
  const issuer = `https://${team}`;
  const claims = await verifyWithJwksUrl(`${issuer}/cdn-cgi/access/certs`, assertion, { iss: issuer, aud: env.ACCESS_AUD });
  if (!claims || typeof claims.exp !== 'number') return null;
  return { email: typeof claims.email === 'string' ? claims.email : null };
}

export async function consoleOperator(c: Context<AppEnv>): Promise<Operator | null> {
  const env = c.env as ConsoleAuthEnv;
  const access = await accessOperator(env, c.req.header('cf-access-jwt-assertion'));
  if (access) return { via: 'access', ...access };
  if (await validSession(env, getCookie(c, CONSOLE_COOKIE))) return { via: 'session' };
  if (await isAdmin(c.env, c.req.header('authorization'))) return { via: 'bearer' };
  return null;
}

/** Plain http is allowed only for a local development server (the browser drops Secure cookies there). */
function isLocalHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** Log in with the admin token: sets the session cookie when the token is right. */
export async function logIn(c: Context<AppEnv>, token: string): Promise<boolean> {
  if (!(await isAdminToken(c.env, token))) return false;
  const secure = !isLocalHttp(new URL(c.req.url));
  setCookie(c, CONSOLE_COOKIE, await newSession(c.env as ConsoleAuthEnv), { httpOnly: true, secure, sameSite: 'Strict', path: '/console', maxAge: SESSION_TTL_S });
  return true;
}

export function logOut(c: Context<AppEnv>): void {
  deleteCookie(c, CONSOLE_COOKIE, { path: '/console', secure: !isLocalHttp(new URL(c.req.url)), httpOnly: true, sameSite: 'Strict' });
}
