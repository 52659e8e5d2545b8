/**
 * The storefront's origin, behind the proxy: one function fetches it, with an edge cache
 * for HTML that the origin marks as shareable.
 *
 * Cache rules: only GET 200 text/html responses whose Cache-Control allows a shared cache
 * (public / s-maxage / max-age > 0, and none of private / no-store / no-cache), without
 * Set-Cookie and without `Vary: Cookie` or `Vary: *`, are stored. The cache key is the origin
 * URL alone (no cookies, no shopper headers), so a cached page is never one shopper's page.
 * Personalization is applied to the cached HTML afterwards, per request.
 */
import { positiveVar } from '../lib/vars';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface OriginEnv {
  ORIGIN_URL?: string;
  /** "0" turns the edge HTML cache off. */
  ORIGIN_CACHE?: string;
  /** How long to wait for the origin's response headers (ms). */
  ORIGIN_TIMEOUT_MS?: string;
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

/** Hop-by-hop headers and ones the fetch layer sets itself. */
const DROP_REQUEST = ['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'cf-connecting-ip', 'cf-ray', 'cf-visitor', 'cf-ipcountry', 'cf-worker', 'x-real-ip'];

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

export function sharedCacheable(res: Response): boolean {
  if (res.status !== 200 || !isHtml(res) || res.headers.has('set-cookie')) return false;
  const vary = (res.headers.get('vary') ?? '').toLowerCase();
  if (/(^|,)\s*(cookie|\*)\s*(,|$)/.test(vary)) return false;
  const cc = (res.headers.get('cache-control') ?? '').toLowerCase();
  if (/\b(private|no-store|no-cache)\b/.test(cc)) return false;
  const maxAge = /\bs-maxage\s*=\s*(\d+)/.exec(cc) ?? /\bmax-age\s*=\s*(\d+)/.exec(cc);
  if (maxAge) return Number(maxAge[1]) > 0;
  return /\bpublic\b/.test(cc);
}

function cacheKey(target: URL): Request {
  return new Request(target.toString(), { method: 'GET' });
}

// Pages the origin recently said may not be shared (no-store, private, cookies, not HTML…) skip
// the cache lookup for a while: a lookup that cannot hit would only delay the first byte.
const UNCACHEABLE_MS = 30_000;
const MAX_UNCACHEABLE = 2000;
const uncacheable = new Map<string, number>();

function knownUncacheable(key: string): boolean {
  const until = uncacheable.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  uncacheable.delete(key);
  return false;
}

function rememberUncacheable(key: string): void {
  if (uncacheable.size >= MAX_UNCACHEABLE) uncacheable.delete(uncacheable.keys().next().value!);
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
  if (cache && !knownUncacheable(target.toString())) {
    const hit = await cache.match(cacheKey(target)).catch(() => undefined);
    if (hit) return { response: hit, cache: 'HIT' };
  }
  const headers = new Headers(request.headers);
  for (const h of DROP_REQUEST) headers.delete(h);
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
  if (!cache || !sharedCacheable(response) || !response.body) {
    if (cache) rememberUncacheable(target.toString());
    return { response, cache: cache ? 'MISS' : 'BYPASS' };
  }
  uncacheable.delete(target.toString());
  // Store a copy while the page streams on; a failing cache write only loses the copy.
  const [forCache, forClient] = response.body.tee();
  waitUntil(cache.put(cacheKey(target), new Response(forCache, response)).catch(() => undefined));
  return { response: new Response(forClient, response), cache: 'MISS' };
}
