/** The HTTP surface: public API, admin API, OpenAPI document, JSON errors everywhere. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { adminApi } from './api/admin';
import { requireAdmin } from './api/admin-auth';
import { batchApi } from './api/batch';
import { consoleApp } from './console/routes';
import { docsApi } from './api/docs';
import { eventsApi } from './api/events';
import { experimentsApi } from './api/experiments';
import { withExamples } from './api/openapi-examples';
import { recommendationsApi } from './api/recommendations';
import { rerankApi } from './api/rerank';
import { similarApi } from './api/similar';
import { trendingApi } from './api/trending';
import { router, type AppEnv } from './api/types';
import { d1TimeoutMs, withDeadline } from './db/deadline';
import { ApiError, errorBody } from './lib/errors';
import { withInjectedFaults } from './ops/fault-injection';
import { opsMiddleware } from './ops/middleware';
import { proxy } from './rewrite/proxy';
import { KIB, maxBody } from './security/body-limit';
import { publicCors } from './security/cors';
import { securityHeaders } from './security/headers';
import { noTokenInQuery } from './security/token-in-query';
import { rateLimit } from './security/rate-limit';
import { snippetResponse } from './snippet/p13n';
import { log } from './ops/log';

export const app = router();

// Operations (issue 7), first: request id, secrets check, structured access log, metrics.
app.use('*', opsMiddleware);

// Every D1 call made for a request has a time limit (D1_TIMEOUT_MS): a hanging D1 degrades like a failing one.
// (withInjectedFaults is the identity unless the test-only FAULT_INJECTION var is "on".)
app.use('*', async (c, next) => {
  c.env = { ...c.env, DB: withDeadline(withInjectedFaults(c.env).DB, d1TimeoutMs(c.env)) };
  await next();
});

// Security (docs/security.md): headers on everything we answer ourselves; CORS allow-list, rate
// limits and body limits on the public API; admin bodies are bounded too (bulk catalog uploads).
for (const path of ['/v1/*', '/health', '/openapi.json', '/p13n.js', '/docs', '/console', '/console/*']) app.use(path, securityHeaders);
for (const path of ['/v1/events', '/v1/recommendations', '/v1/blocks/*', '/v1/rerank', '/v1/recommendations/batch', '/v1/items/*', '/v1/trending']) app.use(path, publicCors, rateLimit, noTokenInQuery);
app.use('/v1/events', maxBody(1024 * KIB));
app.use('/v1/recommendations', maxBody(64 * KIB));
app.use('/v1/recommendations/batch', maxBody(64 * KIB));
app.use('/v1/rerank', maxBody(128 * KIB)); // 500 ids
// The admin token is checked before an admin body is read: a stranger cannot make us buffer 32 MiB.
app.use('/v1/admin/*', requireAdmin, maxBody(32 * 1024 * KIB));
// The console's login is rate limited per IP like the public API (guessing the token); its forms are small.
app.use('/console/login', rateLimit);
app.use('/console/*', maxBody(256 * KIB));

app.get('/health', (c) => c.json({ status: 'ok' }));

app.route('/', eventsApi);
app.route('/', recommendationsApi);
app.route('/', batchApi);
app.route('/', rerankApi);
app.route('/', similarApi);
app.route('/', trendingApi);
app.route('/', adminApi);
app.route('/', experimentsApi);

const openApiConfig = {
  openapi: '3.1.0',
  info: {
    title: 'Edge personalization worker',
    version: '1.0.0',
    description: 'Personalized recommendations, HTML blocks and event ingestion at the edge.',
  },
} as const;
// Examples the route definitions leave out are filled in (worker/api/openapi-examples.ts).
app.get('/openapi.json', (c) => c.json(withExamples(app.getOpenAPI31Document(openApiConfig))));

// API reference page (Scalar), with its own CSP (worker/api/docs.ts).
app.route('/', docsApi);

// Operator console (worker/console/routes.ts): its actions call the admin API above through the app itself.
app.route('/', consoleApp(async (req, c) => app.fetch(req, c.env, c.executionCtx)));

// Storefront snippet (issue 4).
app.get('/p13n.js', () => snippetResponse());

// Unknown API routes stay JSON 404s; every other path is the storefront, proxied to ORIGIN_URL
// with its HTML slots personalized (worker/rewrite/proxy.ts). Without ORIGIN_URL: JSON 404.
const apiNotFound = (c: Context<AppEnv>) => c.json(errorBody('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);
app.all('/v1/*', apiNotFound);
app.all('*', async (c) => (c.env.ORIGIN_URL ? proxy(c.req.raw, c.env, c.executionCtx) : apiNotFound(c)));

app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
  if (err instanceof HTTPException && err.status < 500) {
    // e.g. malformed JSON caught by the validator
    return c.json(errorBody('invalid_request', err.message || 'invalid request'), err.status);
  }
  log('error', 'unhandled', { error: String((err as Error)?.message ?? err) });
  // Storage failures are transient: tell callers to retry, without internals.
  return c.json(errorBody('unavailable', 'the service could not complete the request; retry later'), 503, { 'Retry-After': '5' });
});
