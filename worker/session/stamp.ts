/**
 * The `p13n_sv` cookie: when this browser's session last had a batch of events accepted (ms since
 * the epoch). Any isolate that serves the browser's next page then reads the session's object
 * again rather than features it read before that moment (worker/session/features-cache.ts), so
 * the page after a beacon reflects it even when another isolate took the beacon. It holds no
 * identifier; it lives as long as the session cookie.
 */
import { cookieAttributes, parseCookies } from '../identity/shopper';

export const STAMP_COOKIE = 'p13n_sv';

export function stampCookie(request: Request, at: number, maxAgeS: number): string {
  return `${STAMP_COOKIE}=${Math.floor(at)}; ${cookieAttributes(request, maxAgeS)}; HttpOnly`;
}

/** The request's stamp, or 0 (none, or not a time). */
export function readStamp(request: Request): number {
  const v = Number(parseCookies(request.headers.get('cookie')).get(STAMP_COOKIE));
  return Number.isFinite(v) && v > 0 ? v : 0;
}
