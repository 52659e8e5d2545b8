import { z } from '@hono/zod-openapi';
import { Id } from './common';

export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'impression'] as const;
export const MAX_EVENTS_PER_BATCH = 500;
/** The largest purchase value accepted (shop currency units): beyond it a value is a mistake or an attack on the revenue reports. */
export const MAX_EVENT_VALUE = 10_000_000;

/** ISO-8601 string or epoch milliseconds -> epoch milliseconds. */
export const Timestamp = z
  .union([z.number().int().positive(), z.string().min(1)])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : Date.parse(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: 'string', example: '2026-11-23T10:00:00Z', description: 'ISO-8601 or epoch milliseconds' });

export const EventSchema = z
  .object({
    event_id: Id.openapi({ description: 'Client-chosen id; a retried event with the same id is stored once' }),
    type: z.enum(EVENT_TYPES),
    item_id: Id,
    session_id: Id.openapi({
      description: 'A browser may send only the session the worker issued to it (defaults to its p13n_sid cookie); storefront backends with X-P13n-Server-Key name their own',
    }),
    user_id: Id.optional().openapi({ description: 'Honoured only when it is a signed shopper token (see user_token); a bare id is ignored and the event stored as anonymous' }),
    user_token: z.string().trim().min(1).max(4096).optional().openapi({ description: "Signed shopper token (a JWT or the compact format); defaults to the request's Authorization: Bearer, X-P13n-User-Token header or p13n_uid cookie" }),
    timestamp: Timestamp,
    recommendation_id: Id.optional(),
    slot: Id.optional(),
    value: z.number().finite().nonnegative().max(MAX_EVENT_VALUE).optional().openapi({ description: `Revenue for purchases, at most ${MAX_EVENT_VALUE}` }),
  })
  .openapi('Event');

export type EventInput = z.output<typeof EventSchema>;

/** The batch is checked as a whole for shape; each event is validated on its own so one bad event rejects only itself. */
export const ConsentSchema = z.enum(['full', 'essential', 'none']);

export const EventBatchSchema = z
  .object({
    events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_BATCH),
    consent: ConsentSchema.optional().openapi({
      description: "The shopper's consent, when the caller knows it: only 'full' allows storing events. Header/cookie signals and Sec-GPC: 1 apply too; the strictest wins.",
    }),
  })
  .openapi('EventBatch', {
    example: {
      events: [{ event_id: 'e-1', type: 'view', item_id: 'sku-1', session_id: 's-1', timestamp: '2026-11-23T10:00:00Z' }],
    },
  });

export const EventBatchResultSchema = z
  .object({
    accepted: z.number().int().openapi({ description: 'Events newly stored' }),
    buffered: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Events held durably because the event log was unavailable (answer 202); each is stored later exactly once. Present only when > 0' }),
    duplicates: z.number().int().openapi({ description: 'Events already stored earlier (same event_id), not counted again' }),
    session_stamp: z
      .number()
      .int()
      .optional()
      .openapi({
        description:
          "Present when the batch's one session was updated before this answer: send it as the X-P13n-Session-Stamp header with the next requests for that session, and no isolate answers from session features read before it (browsers get the same in the p13n_sv cookie)",
      }),
    consent: ConsentSchema.openapi({ description: 'The consent the batch was processed under' }),
    not_stored: z.number().int().openapi({ description: 'Events not stored because the shopper has not consented to tracking' }),
    warnings: z
      .array(z.object({ index: z.number().int(), event_id: z.string().nullable(), field: z.string(), message: z.string() }))
      .openapi({ description: 'Accepted events stored differently than sent (e.g. an unsigned user_id stored as anonymous)' }),
    rejected: z.array(
      z.object({
        index: z.number().int(),
        event_id: z.string().nullable(),
        issues: z.array(z.object({ field: z.string(), message: z.string() })),
      }),
    ),
  })
  .openapi('EventBatchResult');
