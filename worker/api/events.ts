import { createRoute } from '@hono/zod-openapi';
import { ingestEvents } from '../events/ingest';
import { ownSessionEvents } from '../identity/api-session';
import { resolveApiShopper, sessionCookieMaxAge } from '../identity/shopper';
import { isServerCaller } from '../security/server-key';
import { stampCookie } from '../session/stamp';
import { errorResponses, sessionErrorResponses } from '../schemas/common';
import { EventBatchResultSchema, EventBatchSchema } from '../schemas/events';
import { router } from './types';

export const eventsApi = router().openapi(
  createRoute({
    method: 'post',
    path: '/v1/events',
    summary: 'Ingest a batch of behavioural events (idempotent per event_id)',
    request: { body: { required: true, content: { 'application/json': { schema: EventBatchSchema } } } },
    responses: {
      200: { description: 'Batch accepted (queued for the event log); rejected events are listed with reasons; without consent nothing is stored (not_stored)', content: { 'application/json': { schema: EventBatchResultSchema } } },
      202: {
        description: 'The events queue was unavailable: the valid events are buffered (`buffered`) and will be stored exactly once; do not resend',
        content: { 'application/json': { schema: EventBatchResultSchema } },
      },
      ...errorResponses,
      ...sessionErrorResponses,
    },
  }),
  async (c) => {
    const { events, consent } = c.req.valid('json');
    const shopper = await resolveApiShopper(c.req.raw, c.env, { consent });
    // A browser may only write to its own issued session; storefront backends (server key) to any.
    const own = shopper.consent === 'full' && !(await isServerCaller(c.env, c.req.raw));
    const batch = own ? await ownSessionEvents(c.env, c.req.raw, shopper.userId, events) : events;
    const result = await ingestEvents(c.env, batch, shopper, (p) => c.executionCtx.waitUntil(p));
    // The browser's next page, in whichever isolate, reads its session again (worker/session/stamp.ts).
    if (own && result.accepted > 0) c.header('set-cookie', stampCookie(c.req.raw, Date.now(), sessionCookieMaxAge(c.env)), { append: true });
    return result.buffered ? c.json(result, 202) : c.json(result, 200);
  },
);
