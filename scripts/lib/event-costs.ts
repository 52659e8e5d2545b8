/**
 * Rows a session Durable Object writes (billed rows written, SQLite backend) when it takes events:
 * measured inside workerd by test/worker/event-costs.test.ts, which fails when the code drifts
 * from these figures. Mix: the bench's event types (3/8 views, 2/8 impressions, clicks, carts,
 * purchases), an anonymous shopper, items with two catalog attributes, a session whose bounded
 * history is full. Measured 2026-12-02: 1 per event (its dedupe row) and 1 per call (the state row);
 * before the state row (a table row per recent item, attribute, anonymous event and trim): 9.44 and 5.6.
 */
export const DO_ROWS_PER_EVENT = 1;
export const DO_ROWS_PER_CALL = 1;
