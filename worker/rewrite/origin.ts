/**
 * The storefront's origin, behind the proxy: one function fetches it, with an edge cache
 * for HTML that the origin marks as shareable.
 *
 * Cache rules (RFC 9111, for a shared cache whose key is the origin URL alone):
 *  - stored: GET 200 text/html whose Cache-Control allows a shared cache (public / s-maxage /
 *    max-age > 0, and none of private / no-store / no-cache), without Set-Cookie, and with no
 *    Vary other than Accept-Encoding (the key cannot honour any other Vary, so such pages are
 *    never stored);
 *  - a request with credentials (Authorization, or a cookie that is not the worker's own and not
 *    listed in ORIGIN_CACHE_IGNORE_COOKIES) never reads the cache, and its response is stored only
 *    when it says `public` or `s-maxage` (RFC 9111 §3.5): the origin answered that person;
 *  - the cache status header (x-p13n-origin-cache) is only sent with ORIGIN_CACHE_DEBUG="1".
 * Personalization is applied to the cached HTML afterwards, per request.
 *
 * Forwarding: hop-by-hop headers and headers that re-route or re-interpret a request at the
 * origin (Forwarded, X-Original-URL, X-HTTP-Method-Override …) are not forwarded: the cache key
 * ignores them, so they could make the origin answer a different page under this URL. The client
 * IP reaches the origin one way only: X-Forwarded-For set to the CF-Connecting-IP Cloudflare saw
 * (never a client-supplied chain, X-Real-IP or True-Client-IP).
 */
import { parseCookies, SESSION_COOKIE, TRACKING_COOKIE } from '../identity/shopper';
import { Lru } from '../lib/lru';
import { positiveVar } from '../lib/vars';
import { STAMP_COOKIE } from '../session/stamp';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface OriginEnv {
  ORIGIN_URL?: string;
  /** "0" turns the edge HTML cache off. */
  ORIGIN_CACHE?: string;
  /** How long to wait for the origin's response headers (ms). */
  ORIGIN_TIMEOUT_MS?: string;
  /** Comma-separated cookie names (a trailing `*` matches a prefix) that are not credentials, e.g. analytics cookies. */
  ORIGIN_CACHE_IGNORE_COOKIES?: string;
  /** The consent cookie's name: the worker's own, never a credential. */
  CONSENT_COOKIE?: string;
  /** "1" adds the x-p13n-origin-cache (HIT / MISS / BYPASS) header to proxied pages. */
  ORIGIN_CACHE_DEBUG?: string;
}

/** Whether proxied pages say if they came from the cache: for operators only, it tells anyone what others fetched. */
export function showCacheStatus(env: OriginEnv): boolean {
  return env.ORIGIN_CACHE_DEBUG === '1';
}

export const DEFAULT_ORIGIN_TIMEOUT_MS = 10_000;

/** The origin sent no response headers within ORIGIN_TIMEOUT_MS. */
export class OriginTimeoutError extends Error {
  constructor(ms: number) {
    super(`the storefront origin did not answer within ${ms} ms`);
    this.name = 'OriginTimeoutError';
  }
}

function originTimeoutMs(env: OriginEnv): number {
  return positiveVar(env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS);
}

/** Hop-by-hop headers, ones the fetch layer sets itself, and client-IP headers (set below, one way). */
const DROP_REQUEST = [
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'cf-connecting-ip', 'cf-connecting-ipv6', 'cf-ray', 'cf-visitor', 'cf-ipcountry', 'cf-worker', 'cf-pseudo-ipv4',
  'x-real-ip', 'x-forwarded-for', 'true-client-ip', 'x-client-ip', 'x-cluster-client-ip',
  // Override headers: they make the origin serve another path, method or host than the URL the cache keys by.
  'forwarded', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-scheme',
  'x-host', 'x-original-url', 'x-rewrite-url', 'x-original-host', 'x-http-method-override', 'x-http-method', 'x-method-override',
];

export function originUrl(env: OriginEnv, request: Request): URL | null {
  if (!env.ORIGIN_URL) return null;
  const base = new URL(env.ORIGIN_URL);
  const url = new URL(request.url);
  const target = new URL(base.toString());
  target.pathname = (base.pathname.replace(/\/$/, '') + url.pathname) || '/';
  target.search = url.search;
  return target;
}

export function isHtml(res: Response): boolean {
  return /^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '');
}

/** A response the origin allows a shared cache to keep and hand to anyone asking for this URL. */
export function sharedCacheable(res: Response, credentialed = false): boolean {
  if (res.status !== 200 || !isHtml(res) || res.headers.has('set-cookie')) return false;
  // The key is the URL alone: any Vary but Accept-Encoding (the platform's own) cannot be honoured.
  const vary = (res.headers.get('vary') ?? '').toLowerCase().split(',').map((v) => v.trim()).filter(Boolean);
  if (vary.some((v) => v !== 'accept-encoding')) return false;
  const cc = (res.headers.get('cache-control') ?? '').toLowerCase();
  if (/\b(private|no-store|no-cache)\b/.test(cc)) return false;
  const sMaxAge = /\bs-maxage\s*=\s*(\d+)/.exec(cc);
  // RFC 9111 §3.5: a response to a request with credentials is stored only when it says so explicitly.
  if (credentialed && !sMaxAge && !/\bpublic\b/.test(cc)) return false;
  const maxAge = sMaxAge ?? /\bmax-age\s*=\s*(\d+)/.exec(cc);
  if (maxAge) return Number(maxAge[1]) > 0;
  return /\bpublic\b/.test(cc);
}

function cookieListed(name: string, list: string[]): boolean {
  return list.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * Whether the request carries credentials the origin may answer with a personal page:
 * Authorization, or any cookie other than the worker's own (session, tracking flag, stamp,
 * consent) and the ones ORIGIN_CACHE_IGNORE_COOKIES lists (the shopper token p13n_uid counts
 * as a credential).
 */
export function hasCredentials(env: OriginEnv, request: Request): boolean {
  if (request.headers.has('authorization')) return true;
  const ours = [SESSION_COOKIE, TRACKING_COOKIE, STAMP_COOKIE, env.CONSENT_COOKIE || 'p13n_consent'];
  const ignored = (env.ORIGIN_CACHE_IGNORE_COOKIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of parseCookies(request.headers.get('cookie')).keys()) {
    if (!ours.includes(name) && !cookieListed(name, ignored)) return true;
  }
  return false;
}

function cacheKey(target: URL): Request {
  return new Request(target.toString(), { method: 'GET' });
}

// Pages the origin recently said may not be shared (no-store, private, cookies, not HTML…) skip
// the cache lookup for a while: a lookup that cannot hit would only delay the first byte.
const UNCACHEABLE_MS = 30_000;
const MAX_UNCACHEABLE = 2000;
const uncacheable = new Lru<string, number>(MAX_UNCACHEABLE);

function knownUncacheable(key: string): boolean {
  const until = uncacheable.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  uncacheable.delete(key);
  return false;
}

function rememberUncacheable(key: string): void {
  uncacheable.set(key, Date.now() + UNCACHEABLE_MS);
}

function edgeCache(): Cache | null {
  try {
    return typeof caches !== 'undefined' ? caches.default : null;
  } catch {
    return null;
  }
}

/**
 * Forward the request to the origin: method, headers (cookies included: the origin's own
 * session and cart keep working), body; redirects are not followed, so they pass through.
 */
export async function fetchOrigin(
  env: OriginEnv,
  request: Request,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<{ response: Response; cache: CacheStatus }> {
  const target = originUrl(env, request);
  if (!target) throw new Error('ORIGIN_URL is not configured');
  const cache = request.method === 'GET' && env.ORIGIN_CACHE !== '0' ? edgeCache() : null;
  // A request with credentials gets the origin's own answer for that person, never a stored page.
  const credentialed = hasCredentials(env, request);
  if (cache && !credentialed && !knownUncacheable(target.toString())) {
    const hit = await cache.match(cacheKey(target)).catch(() => undefined);
    if (hit) return { response: hit, cache: 'HIT' };
  }
  const headers = new Headers(request.headers);
  for (const h of DROP_REQUEST) headers.delete(h);
  const clientIp = request.headers.get('cf-connecting-ip');
  // The platform does not let a subrequest set CF-Connecting-IP: X-Forwarded-For carries it.
  if (clientIp) headers.set('x-forwarded-for', clientIp);
  const incoming = new URL(request.url);
  headers.set('x-forwarded-host', incoming.host);
  headers.set('x-forwarded-proto', incoming.protocol.replace(':', ''));
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  // The limit covers the wait for the headers only: once the page streams, it streams at the origin's pace.
  const ms = originTimeoutMs(env);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new OriginTimeoutError(ms)), ms);
  let response: Response;
  try {
    response = await fetch(target.toString(), {
      method: request.method,
      headers,
      body: hasBody ? request.body : undefined,
      redirect: 'manual',
      signal: abort.signal,
    });
  } catch (e) {
    throw abort.signal.aborted ? new OriginTimeoutError(ms) : e;
  } finally {
    clearTimeout(timer);
  }
  if (!cache || !sharedCacheable(response, credentialed) || !response.body) {
    // A credentialed refusal says nothing about the page for everyone else.
    if (cache && !credentialed) rememberUncacheable(target.toString());
    return { response, cache: cache ? 'MISS' : 'BYPASS' };
  }
  uncacheable.delete(target.toString());
  // Store a copy while the page streams on; a failing cache write only loses the copy.
  const [forCache, forClient] = response.body.tee();
  waitUntil(cache.put(cacheKey(target), new Response(forCache, response)).catch(() => undefined));
  return { response: new Response(forClient, response), cache: 'MISS' };
}
