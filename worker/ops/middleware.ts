/**
 * The first middleware of the app: request id, secrets check, one structured access log line
 * and one metrics point per request.
 *  - X-Request-Id: taken from the request when it looks like an id (a proxy's), else generated;
 *    always returned in the response header and written in every log line of the request.
 *  - Secrets: checked on each request (cheap); when one is missing every route except the
 *    public GET /health (a trivial liveness/latency baseline) answers 503 naming it.
 *  - Logs name the route pattern ("/v1/blocks/:slot", "proxy"), never the concrete path or query
 *    string; no shopper ids, IPs or user agents are logged (worker/ops/log.ts redacts them anyway).
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { AppEnv } from '../api/types';
import { errorBody } from '../lib/errors';
import { log, withRequestId } from './log';
import { flushMetrics, recordRequest } from './metrics';
import { missingSecrets, missingSecretsMessage } from './secrets';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestId(req: Request): string {
  const given = req.headers.get('x-request-id');
  return given && INCOMING_ID.test(given) ? given : crypto.randomUUID();
}

let warnedMissing = '';

export const opsMiddleware = createMiddleware<AppEnv>(async (c, next) => {
  const t0 = performance.now();
  const id = requestId(c.req.raw);
  const path = new URL(c.req.url).pathname;
  if (!(c.req.method === 'GET' && path === '/health')) {
    const missing = missingSecrets(c.env);
    if (missing.length) {
      const message = missingSecretsMessage(missing);
      if (warnedMissing !== message) {
        warnedMissing = message;
        withRequestId(id, () => log('error', 'missing_secrets', { missing }));
      }
      const res = c.json(errorBody('not_configured', message), 503);
      res.headers.set('X-Request-Id', id);
      return res;
    }
  }
  let thrown: unknown;
  try {
    await withRequestId(id, next);
  } catch (e) {
    thrown = e;
  }
  const status = thrown ? 500 : c.res.status;
  const ms = performance.now() - t0;
  // Route pattern ("/v1/blocks/:slot"), not the concrete path: bounded cardinality, no ids.
  const route = routeOf(c, path);
  if (!thrown) c.res.headers.set('X-Request-Id', id);
  // The route pattern only: a concrete path can hold tokens or ids (/account/reset/<token>, /orders/123).
  if (status >= 500 || (c.env.ACCESS_LOG as string) !== 'off') withRequestId(id, () => log(status >= 500 ? 'error' : 'info', 'request', { method: c.req.method, route, status, ms: Math.round(ms * 100) / 100 }));
  recordRequest(c.env, { route, method: c.req.method, status, ms }, id);
  try {
    flushMetrics(c.env, (p) => c.executionCtx.waitUntil(p));
  } catch {
    // no execution context (e.g. app.request in a unit test): the points wait for the next request
  }
  if (thrown) throw thrown;
});

function routeOf(c: Context<AppEnv>, path: string): string {
  let r = '';
  try {
    // After next() the route index is the one of the handler that answered.
    r = routePath(c);
  } catch {
    r = '';
  }
  if (!r || r === '/*' || r === '*') return path.startsWith('/v1/') ? 'unmatched' : 'proxy';
  return r;
}
