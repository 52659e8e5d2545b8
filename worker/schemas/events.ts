import { z } from '@hono/zod-openapi';
import { Id } from './common';

export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'impression'] as const;
export const MAX_EVENTS_PER_BATCH = 500;

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
    session_id: Id,
    user_id: Id.optional(),
    timestamp: Timestamp,
    recommendation_id: Id.optional(),
    slot: Id.optional(),
    value: z.number().finite().nonnegative().optional().openapi({ description: 'Revenue for purchases' }),
  })
  .openapi('Event');

export type EventInput = z.output<typeof EventSchema>;

/** The batch is checked as a whole for shape; each event is validated on its own so one bad event rejects only itself. */
export const EventBatchSchema = z
  .object({ events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_BATCH) })
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
    rejected: z.array(
      z.object({
        index: z.number().int(),
        event_id: z.string().nullable(),
        issues: z.array(z.object({ field: z.string(), message: z.string() })),
      }),
    ),
  })
  .openapi('EventBatchResult');
