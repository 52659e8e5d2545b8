/**
 * Which session a public API call may use. A storefront backend holding the server key
 * (worker/security/server-key.ts) names any session id of its own. Everyone else (a browser, the
 * snippet, a stranger) may use only a session the worker issued to them (worker/identity/
 * session-id.ts): named in the request, or else the HttpOnly `p13n_sid` cookie. Naming an id the
 * worker did not issue, or one issued to another shopper, is refused (403); a stale cookie is
 * simply not used (the proxy replaces it on the next page).
 */
import { ApiError } from '../lib/errors';
import { parseCookies, SESSION_COOKIE } from './shopper';
import { checkSessionId } from './session-id';

export interface ApiCaller {
  /** Authenticated with the server key. */
  server: boolean;
  /** The verified shopper (null: anonymous). */
  userId: string | null;
}

export const SESSION_NOT_ISSUED = 'is not a session this worker issued to you (browsers use the p13n_sid cookie; storefront backends send X-P13n-Server-Key)';

/** The session id to use: the named one (checked), the cookie's (if valid), or undefined. Throws ApiError 403 for a named id the caller may not use. */
export async function apiSessionId(env: { PSEUDONYM_KEY?: string }, request: Request, caller: ApiCaller, named: string | undefined): Promise<string | undefined> {
  if (caller.server) return named;
  if (named !== undefined) {
    if ((await checkSessionId(env, named, caller.userId)).yours) return named;
    throw new ApiError(403, 'session_not_issued', `session_id ${SESSION_NOT_ISSUED}`);
  }
  return cookieSession(env, request, caller.userId);
}

/** The request's session cookie when the worker issued it to this shopper. */
export async function cookieSession(env: { PSEUDONYM_KEY?: string }, request: Request, userId: string | null): Promise<string | undefined> {
  const cookie = parseCookies(request.headers.get('cookie')).get(SESSION_COOKIE);
  return cookie !== undefined && (await checkSessionId(env, cookie, userId)).yours ? cookie : undefined;
}

/**
 * A public caller's event batch, all for the one session it may use: events that name no session
 * get the cookie's. Several sessions in one batch are a bulk batch, which needs the server key.
 */
export async function ownSessionEvents(env: { PSEUDONYM_KEY?: string }, request: Request, userId: string | null, events: unknown[]): Promise<unknown[]> {
  const named = new Set<string>();
  for (const e of events) {
    const sid = (e as { session_id?: unknown })?.session_id;
    if (typeof sid === 'string') named.add(sid.trim());
  }
  if (named.size > 1) throw new ApiError(403, 'server_key_required', 'events for several sessions in one batch need X-P13n-Server-Key (a browser sends its own session only)');
  const session = await apiSessionId(env, request, { server: false, userId }, named.size ? [...named][0] : undefined);
  if (session === undefined) return events;
  return events.map((e) => (e && typeof e === 'object' && !Array.isArray(e) ? { session_id: session, ...(e as object) } : e));
}
