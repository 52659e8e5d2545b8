/**
 * Who is this shopper, and what may we do with that? One module for the HTML proxy and the API.
 *
 * Consent (`consent`):
 *   - 'full'      the consent cookie or header carries the configured "granted" value, and
 *                 the browser does not send `Sec-GPC: 1`. Personalization and tracking allowed.
 *   - 'essential' an explicit consent signal that is not "granted", or `Sec-GPC: 1` (always
 *                 respected, whatever the cookie says). Non-personalized content, no tracking.
 *   - 'none'      no signal at all (CONSENT_DEFAULT may say otherwise; default 'none').
 * Only with 'full' consent does this module hand out identifiers: the first-party session id
 * (HttpOnly cookie `p13n_sid`, issued and signed here: worker/identity/session-id.ts) and the
 * user id of a logged-in shopper. A cookie the worker did not issue (planted, guessed) is
 * replaced, and so is one issued to another identity: a new session at login and at logout.
 * Without consent, left-over cookies are expired.
 *
 * Logged-in shoppers are recognised only from a signed token, in one of two formats:
 *   - a standard JWT (worker/identity/jwt.ts): HS256 with IDENTITY_SECRET, or RS256 / ES256
 *     from the keys at IDENTITY_JWKS_URL;
 *   - the original compact format the storefront's backend signs:
 *     base64url(JSON {sub, exp}) "." base64url(HMAC-SHA256(IDENTITY_SECRET, <first part>))
 * `exp` is in seconds since the epoch. The token comes from the cookie `p13n_uid` or the header
 * `X-P13n-User-Token`; API calls may also send `Authorization: Bearer <token>` or put it in a
 * JSON body's `user_token` (never in a query string: URLs end up in logs and referrers). During
 * a key rotation IDENTITY_SECRET_PREVIOUS verifies too, so tokens signed with either key stay
 * valid. Forged, expired or malformed tokens (or no key) mean anonymous.
 *
 * The API (resolveApiShopper) reads the same signals with one difference: a server calling the
 * API with no consent signal gets API_CONSENT_DEFAULT (default 'full': the storefront's backend
 * is expected to call only for consenting shoppers, and says otherwise with the header, the
 * cookie or the batch's `consent` field). A browser (Origin, Sec-Fetch-Site or our session
 * cookie present) gets the proxy's opt-in CONSENT_DEFAULT instead, whoever claims otherwise.
 */
import { isJwtShaped, verifyJwt, type JwtEnv } from './jwt';
import { base64url, hmac } from './pseudonym';
import { checkSessionId, issueSessionId } from './session-id';

export type Consent = 'full' | 'essential' | 'none';

export interface Shopper {
  consent: Consent;
  /** Anonymous first-party session id; only with full consent. */
  sessionId?: string;
  /** The session id was minted for this request: no event can refer to it yet, so it has no state. */
  newSession?: boolean;
  /** From a valid signed token only; only with full consent. */
  userId?: string;
  /** At login: this browser's previous (anonymous, issued) session, whose history joins the user's profile. */
  mergeFrom?: string;
  /** Set-Cookie values the response must carry (new session cookies, or expiring stale ones). */
  setCookies?: string[];
}

/** The configuration this module reads; the worker's Env satisfies it. */
export interface IdentityEnv extends JwtEnv {
  IDENTITY_SECRET?: string;
  /** The previous signing secret, still accepted while storefront backends switch keys. */
  IDENTITY_SECRET_PREVIOUS?: string;
  /** Consent cookie name and the value that means "granted". */
  CONSENT_COOKIE?: string;
  CONSENT_COOKIE_VALUE?: string;
  /** Consent header name (e.g. set by a consent platform at the edge) and its "granted" value. */
  CONSENT_HEADER?: string;
  CONSENT_HEADER_VALUE?: string;
  /** Consent when the request carries no signal: 'none' (default, opt-in) or 'full' (opt-out regimes). */
  CONSENT_DEFAULT?: string;
  /** The same for API calls (default 'full', see above). */
  API_CONSENT_DEFAULT?: string;
  /** Idle lifetime of the session cookie, seconds (default 1800, renewed on every page). */
  SESSION_COOKIE_MAX_AGE?: string;
}

export const SESSION_COOKIE = 'p13n_sid';
/** Readable companion of the HttpOnly session cookie, no identifier in it: tells the snippet it may send events. */
export const TRACKING_COOKIE = 'p13n_on';
export const USER_TOKEN_COOKIE = 'p13n_uid';
export const USER_TOKEN_HEADER = 'X-P13n-User-Token';
/** Identity providers' JWTs can carry many claims; anything longer is not a shopper token. */
export const MAX_TOKEN = 4096;

export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name && !out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        out.set(name, value);
      }
    }
  }
  return out;
}

const CONSENTS: readonly string[] = ['full', 'essential', 'none'] satisfies Consent[];
const asConsent = (v: string | undefined, fallback: Consent): Consent => (v && CONSENTS.includes(v) ? (v as Consent) : fallback);

/**
 * `explicit` is a consent level stated in the request body (API only); like every other
 * signal it can only lower what the cookie and header allow, and Sec-GPC always wins.
 */
export function resolveConsent(
  request: Request,
  env: IdentityEnv,
  cookies = parseCookies(request.headers.get('cookie')),
  { fallback = asConsent(env.CONSENT_DEFAULT, 'none'), explicit }: { fallback?: Consent; explicit?: Consent } = {},
): Consent {
  if (request.headers.get('sec-gpc')?.trim() === '1') return 'essential';
  if (explicit && explicit !== 'full') return explicit;
  const signals: boolean[] = explicit ? [true] : [];
  const cookieName = env.CONSENT_COOKIE || 'p13n_consent';
  const cookieValue = cookies.get(cookieName);
  if (cookieValue !== undefined) signals.push(cookieValue === (env.CONSENT_COOKIE_VALUE || 'granted'));
  const headerName = env.CONSENT_HEADER || 'X-P13n-Consent';
  const headerValue = request.headers.get(headerName);
  if (headerValue !== null) signals.push(headerValue.trim() === (env.CONSENT_HEADER_VALUE || 'granted'));
  // Any explicit refusal wins over a grant.
  if (signals.length) return signals.every(Boolean) ? 'full' : 'essential';
  return fallback;
}

function fromBase64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Sign a shopper token (what the storefront's backend does; used by the demo origin and tests). */
export async function signUserToken(secret: string, sub: string, expiresAtSec: number): Promise<string> {
  const payload = base64url(new TextEncoder().encode(JSON.stringify({ sub, exp: Math.floor(expiresAtSec) })));
  return `${payload}.${base64url(await hmac(secret, payload))}`;
}

/** The user id in a valid, unexpired token, or null. Never throws. */
export async function verifyUserToken(env: IdentityEnv, token: string | null | undefined, nowMs = Date.now()): Promise<string | null> {
  try {
    if (!token || token.length > MAX_TOKEN) return null;
    if (isJwtShaped(token.trim())) return await verifyJwt(env, token.trim());
    if (!env.IDENTITY_SECRET) return null;
    const parts = token.trim().split('.');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
    const given = fromBase64url(parts[1]);
    let valid = false;
    for (const secret of [env.IDENTITY_SECRET, env.IDENTITY_SECRET_PREVIOUS]) {
      if (secret) valid = sameBytes(await hmac(secret, parts[0]), given) || valid;
    }
    if (!valid) return null;
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0]))) as { sub?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string' || !claims.sub.trim() || claims.sub.length > 128) return null;
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp) || claims.exp * 1000 <= nowMs) return null;
    return claims.sub.trim();
  } catch {
    return null;
  }
}

/** The session cookie (HttpOnly: page scripts never see the id; the snippet's beacons carry it) and its readable marker. */
/** Seconds a session cookie lives (SESSION_COOKIE_MAX_AGE, default 30 minutes). */
export function sessionCookieMaxAge(env: { SESSION_COOKIE_MAX_AGE?: string }): number {
  return Number(env.SESSION_COOKIE_MAX_AGE) > 0 ? Math.floor(Number(env.SESSION_COOKIE_MAX_AGE)) : 1800;
}

/** The attributes every cookie of ours carries (Secure on https). */
export function cookieAttributes(request: Request, maxAge: number): string {
  const secure = new URL(request.url).protocol === 'https:' ? '; Secure' : '';
  return `Path=/; Max-Age=${maxAge}; SameSite=Lax${secure}`;
}

function sessionCookies(request: Request, value: string, maxAge: number): string[] {
  const attrs = cookieAttributes(request, maxAge);
  return [`${SESSION_COOKIE}=${value}; ${attrs}; HttpOnly`, `${TRACKING_COOKIE}=${value ? '1' : ''}; ${attrs}`];
}

export async function resolveShopper(request: Request, env: IdentityEnv & { PSEUDONYM_KEY?: string }): Promise<Shopper> {
  const cookies = parseCookies(request.headers.get('cookie'));
  const consent = resolveConsent(request, env, cookies);
  const existing = cookies.get(SESSION_COOKIE);
  if (consent !== 'full') {
    // Nothing is tracked; session cookies from an earlier consent are removed.
    return existing !== undefined || cookies.has(TRACKING_COOKIE) ? { consent, setCookies: sessionCookies(request, '', 0) } : { consent };
  }
  const maxAge = sessionCookieMaxAge(env);
  const userId = (await verifyUserToken(env, requestToken(request, cookies))) ?? undefined;
  const check = await checkSessionId(env, existing, userId ?? null);
  if (existing !== undefined && check.yours) {
    return { consent, sessionId: existing, ...(userId ? { userId } : {}), setCookies: sessionCookies(request, existing, maxAge) };
  }
  // No cookie, one we did not issue (planted, forged), or the identity changed (login, logout,
  // another shopper): a fresh session. Only at login from an anonymous session does its history follow.
  const sessionId = await issueSessionId(env, userId ?? null);
  const mergeFrom = userId && check.issued && check.anonymous ? existing : undefined;
  return { consent, sessionId, newSession: true, ...(userId ? { userId } : {}), ...(mergeFrom ? { mergeFrom } : {}), setCookies: sessionCookies(request, sessionId, maxAge) };
}

function requestToken(request: Request, cookies: Map<string, string>): string | undefined {
  return request.headers.get(USER_TOKEN_HEADER) ?? cookies.get(USER_TOKEN_COOKIE);
}

/** `Authorization: Bearer <token>`: how identity providers' clients send a JWT (API routes only). */
function bearerToken(request: Request): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
  return m?.[1];
}

// Both formats start with base64url JSON ("eyJ" is `{"`): a user id like "jane.doe" is not a token.
const TOKEN_SHAPE = /^eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+){1,2}$/;

/** Whether a `user_id` value is really a signed token (callers may put one there). */
export function isTokenShaped(v: string | undefined): v is string {
  return v !== undefined && TOKEN_SHAPE.test(v);
}

export interface ApiShopper {
  consent: Consent;
  /** The request comes from a browser (Origin, Sec-Fetch-Site or our session cookie): opt-in consent default. */
  browser: boolean;
  /** From a valid signed token, and only with full consent. */
  userId: string | null;
  /** A user was named but not by a valid token: it is treated as anonymous (the answer says so). */
  unverifiedUser: boolean;
}

/**
 * The caller of the public API. The shopper's id counts only inside a signed token: `user_token`
 * (or a `user_id` that is itself a token) from a JSON body, else `Authorization: Bearer`, the
 * token header or the cookie. A bare `user_id` is a claim anyone can forge, so it is ignored.
 */
export async function resolveApiShopper(
  request: Request,
  env: IdentityEnv,
  given: { user_id?: string; user_token?: string; consent?: Consent } = {},
): Promise<ApiShopper> {
  const cookies = parseCookies(request.headers.get('cookie'));
  const browser = isBrowser(request, cookies);
  const fallback = browser ? asConsent(env.CONSENT_DEFAULT, 'none') : asConsent(env.API_CONSENT_DEFAULT, 'full');
  const consent = resolveConsent(request, env, cookies, { fallback, explicit: given.consent });
  const token = given.user_token ?? (isTokenShaped(given.user_id) ? given.user_id : undefined) ?? bearerToken(request) ?? requestToken(request, cookies);
  const named = token !== undefined || given.user_id !== undefined;
  const userId = consent === 'full' && token !== undefined ? await verifyUserToken(env, token) : null;
  return { consent, browser, userId, unverifiedUser: consent === 'full' && named && !userId };
}

/** Browsers send Origin (CORS, POST) or Sec-Fetch-Site on every request; our session cookie marks one too. */
function isBrowser(request: Request, cookies: Map<string, string>): boolean {
  return request.headers.has('origin') || request.headers.has('sec-fetch-site') || cookies.has(SESSION_COOKIE);
}
