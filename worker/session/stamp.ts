/**
 * The session stamp: when the session last had a batch of events taken by its object (ms since
 * the epoch). Any isolate that serves the session's next request then reads the session's object
 * again rather than features it read before that moment (worker/session/features-cache.ts), so
 * the answer after a batch reflects it even when another isolate took the batch. Browsers carry
 * it in the `p13n_sv` cookie (no identifier; it lives as long as the session cookie); storefront
 * backends get it as `session_stamp` in the events answer and send it back in the
 * `X-P13n-Session-Stamp` header. Sending a stamp can only make an answer fresher, never staler.
 */
import { cookieAttributes, parseCookies } from '../identity/shopper';

export const STAMP_COOKIE = 'p13n_sv';
export const STAMP_HEADER = 'x-p13n-session-stamp';

export function stampCookie(request: Request, at: number, maxAgeS: number): string {
  return `${STAMP_COOKIE}=${Math.floor(at)}; ${cookieAttributes(request, maxAgeS)}; HttpOnly`;
}

/** The request's stamp (the later of cookie and header), or 0 (none, or not a time). */
export function readStamp(request: Request): number {
  const time = (v: string | null | undefined) => {
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : 0;
  };
  return Math.max(time(parseCookies(request.headers.get('cookie')).get(STAMP_COOKIE)), time(request.headers.get(STAMP_HEADER)));
}
