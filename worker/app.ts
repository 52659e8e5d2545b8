/** The HTTP surface: public API, admin API, OpenAPI document, JSON errors everywhere. */
import { HTTPException } from 'hono/http-exception';
import { adminApi } from './api/admin';
import { eventsApi } from './api/events';
import { recommendationsApi } from './api/recommendations';
import { router } from './api/types';
import { ApiError, errorBody } from './lib/errors';

export const app = router();

app.get('/health', (c) => c.json({ status: 'ok' }));

app.route('/', eventsApi);
app.route('/', recommendationsApi);
app.route('/', adminApi);

app.doc31('/openapi.json', {
  openapi: '3.1.0',
  info: {
    title: 'Edge personalization worker',
    version: '1.0.0',
    description: 'Personalized recommendations, HTML blocks and event ingestion at the edge.',
  },
});

app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
  if (err instanceof HTTPException && err.status < 500) {
    // e.g. malformed JSON caught by the validator
    return c.json(errorBody('invalid_request', err.message || 'invalid request'), err.status);
  }
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled', path: new URL(c.req.url).pathname, error: String((err as Error)?.message ?? err) }));
  // Storage failures are transient: tell callers to retry, without internals.
  return c.json(errorBody('unavailable', 'the service could not complete the request; retry later'), 503);
});
