/**
 * The one D1 schema (drizzle). Migrations in migrations/ are generated from this file
 * with `npm run db:generate`; row types used elsewhere are inferred from it.
 * Shopper identifiers are stored only as keyed hashes (`*_key` columns), never raw.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const items = sqliteTable(
  'items',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    category: text('category'),
    brand: text('brand'),
    price: real('price'),
    imageUrl: text('image_url'),
    url: text('url'),
    /** JSON array of strings. */
    tags: text('tags', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
    inStock: integer('in_stock', { mode: 'boolean' }).notNull().default(true),
    /** Popularity prior (decayed interaction count); drives cold start and fallback lists. */
    popularity: real('popularity').notNull().default(0),
    updatedAt: integer('updated_at').notNull(),
    /** Set (ms) when a full catalog feed no longer lists the item: kept, not served (in_stock false); cleared when a write lists it again. */
    removedAt: integer('removed_at'),
  },
  (t) => [index('items_category_idx').on(t.category), index('items_popularity_idx').on(t.popularity)],
);

/**
 * The catalog change log: one row per item written (upsert, patch, removal), in the same D1 batch
 * as the write. Isolates apply the rows past the snapshot they loaded (worker/catalog/delta.ts);
 * a row whose item is no longer in `items` means the item was removed.
 */
export const catalogChanges = sqliteTable('catalog_changes', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  itemId: text('item_id').notNull(),
  at: integer('at').notNull(),
});

/** Small key/value table: the current catalog snapshot (worker/catalog/snapshot-meta.ts) and similar single values. */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Append-only behavioural event log, the input for retraining. Idempotent per event_id. */
export const events = sqliteTable(
  'events',
  {
    eventId: text('event_id').primaryKey(),
    type: text('type', { enum: ['view', 'click', 'add_to_cart', 'purchase', 'impression'] }).notNull(),
    itemId: text('item_id').notNull(),
    sessionKey: text('session_key').notNull(),
    userKey: text('user_key'),
    ts: integer('ts').notNull(),
    recommendationId: text('recommendation_id'),
    slot: text('slot'),
    value: real('value'),
    receivedAt: integer('received_at').notNull(),
  },
  (t) => [index('events_ts_idx').on(t.ts), index('events_user_idx').on(t.userKey), index('events_session_idx').on(t.sessionKey)],
);

/** Long-term shopper profile, written in batches by session Durable Objects (never per event). */
export const profiles = sqliteTable('profiles', {
  userKey: text('user_key').primaryKey(),
  /** attribute ("category:x", "brand:y") -> decayed affinity */
  affinities: text('affinities', { mode: 'json' }).$type<Record<string, number>>().notNull().default(sql`'{}'`),
  /** most recent interacted item ids, newest first, bounded */
  recentItems: text('recent_items', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  /** purchased item ids, bounded */
  purchases: text('purchases', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  eventCount: integer('event_count').notNull().default(0),
  /** RFM: frequency = purchase count, monetary = purchase value sum, recency = lastPurchaseAt */
  purchaseCount: integer('purchase_count').notNull().default(0),
  monetary: real('monetary').notNull().default(0),
  lastPurchaseAt: integer('last_purchase_at'),
  firstSeen: integer('first_seen').notNull(),
  lastSeen: integer('last_seen').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Model registry. Exactly one row is `active`; the artifact lives in R2 under `r2_prefix`. */
export const models = sqliteTable('models', {
  version: text('version').primaryKey(),
  r2Prefix: text('r2_prefix').notNull(),
  sha256: text('sha256').notNull(),
  bytes: integer('bytes').notNull(),
  status: text('status', { enum: ['registered', 'active', 'retired'] }).notNull().default('registered'),
  createdAt: integer('created_at').notNull(),
  activatedAt: integer('activated_at'),
  /** previous active version, for one-step rollback */
  previousVersion: text('previous_version'),
  /**
   * When every file of the version was seen in R2 (the publisher after uploading, or the first
   * worker that listed them): later isolates load it without listing its shards again.
   */
  verifiedAt: integer('verified_at'),
  summary: text('summary', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
});

/** Per-slot configuration: merchandising rules and the HTML template. */
export const slots = sqliteTable('slots', {
  slot: text('slot').primaryKey(),
  rules: text('rules', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  template: text('template'),
  /** ISO 4217 code and BCP 47 locale for this slot's blocks; null: the environment's CURRENCY / LOCALE */
  currency: text('currency'),
  locale: text('locale'),
  updatedAt: integer('updated_at').notNull(),
});

export type Item = typeof items.$inferSelect;
export type NewItem = typeof items.$inferInsert;
export type EventRow = typeof events.$inferInsert;
export type Profile = typeof profiles.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type SlotRow = typeof slots.$inferSelect;

// ---- experiments, attribution, segments (issue 5; see docs/experiments.md) ----

/** A/B/n experiments and bandits, one running per slot. `config` is the validated ExperimentInput. */
export const experiments = sqliteTable(
  'experiments',
  {
    id: text('id').primaryKey(),
    slot: text('slot').notNull(),
    kind: text('kind', { enum: ['ab', 'bandit'] }).notNull(),
    status: text('status', { enum: ['draft', 'running', 'paused', 'stopped'] }).notNull().default('draft'),
    /** Assignment hash salt, fixed at creation so assignment stays sticky. */
    salt: text('salt').notNull(),
    config: text('config', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    startedAt: integer('started_at'),
    stoppedAt: integer('stopped_at'),
  },
  (t) => [index('experiments_status_idx').on(t.status, t.slot)],
);

/**
 * One row per recommendation served inside an experiment (written in batches), and what came
 * of it: each outcome timestamp is set once, by the first attributed event inside the window.
 */
export const recServed = sqliteTable(
  'rec_served',
  {
    recommendationId: text('recommendation_id').primaryKey(),
    experimentId: text('experiment_id').notNull(),
    variant: text('variant').notNull(),
    /** bandit context the arm was drawn in ("" without context) */
    context: text('context').notNull().default(''),
    slot: text('slot').notNull(),
    /** pseudonymous assignment unit (user key, else session key); null for anonymous bandit traffic */
    unitKey: text('unit_key'),
    /** pseudonymous key of the session it was served to: only that session's (or user's) events attribute to it */
    sessionKey: text('session_key'),
    servedAt: integer('served_at').notNull(),
    windowMs: integer('window_ms').notNull(),
    impressedAt: integer('impressed_at'),
    clickedAt: integer('clicked_at'),
    cartedAt: integer('carted_at'),
    convertedAt: integer('converted_at'),
  },
  (t) => [index('rec_served_experiment_idx').on(t.experimentId, t.servedAt)],
);

/** Purchases attributed to a recommendation: one row per purchase event, so revenue counts once. */
export const recPurchases = sqliteTable(
  'rec_purchases',
  {
    eventId: text('event_id').primaryKey(),
    recommendationId: text('recommendation_id').notNull(),
    value: real('value').notNull().default(0),
    ts: integer('ts').notNull(),
  },
  (t) => [index('rec_purchases_rec_idx').on(t.recommendationId)],
);

/** Segment rules edited through the admin API; they override the built-ins by name. */
export const segmentRules = sqliteTable('segment_rules', {
  name: text('name').primaryKey(),
  definition: text('definition', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export type ExperimentRow = typeof experiments.$inferSelect;
export type RecServedRow = typeof recServed.$inferInsert;

// ---- operations (issue 7; see docs/operations.md) ----

/**
 * Canary rollouts: while `running`, a `share` of traffic is scored by `version` and the rest by
 * `stable_version` (the active model). The rule in `rule` promotes or rolls back the canary;
 * `decision` records why, with the counts it was based on.
 */
export const modelRollouts = sqliteTable(
  'model_rollouts',
  {
    id: text('id').primaryKey(),
    version: text('version').notNull(),
    stableVersion: text('stable_version'),
    share: real('share').notNull(),
    status: text('status', { enum: ['running', 'promoted', 'rolled_back', 'cancelled'] }).notNull().default('running'),
    rule: text('rule', { mode: 'json' }).$type<Record<string, number>>().notNull(),
    startedAt: integer('started_at').notNull(),
    decidedAt: integer('decided_at'),
    decision: text('decision', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('model_rollouts_status_idx').on(t.status)],
);

/**
 * Event-log exports to R2. A run exports the events received in (from_received_at,
 * to_received_at]; trimming D1 never deletes an event received after the newest `done` run.
 */
export const exportRuns = sqliteTable('export_runs', {
  id: text('id').primaryKey(),
  status: text('status', { enum: ['running', 'done', 'failed'] }).notNull(),
  startedAt: integer('started_at').notNull(),
  finishedAt: integer('finished_at'),
  fromReceivedAt: integer('from_received_at').notNull(),
  toReceivedAt: integer('to_received_at').notNull(),
  rows: integer('rows').notNull().default(0),
  /** [{ key, rows, bytes }] of the R2 objects written */
  parts: text('parts', { mode: 'json' }).$type<{ key: string; rows: number; bytes: number }[]>().notNull().default(sql`'[]'`),
  error: text('error'),
});

export type RolloutRow = typeof modelRollouts.$inferSelect;
export type ExportRunRow = typeof exportRuns.$inferSelect;

// ---- shopper rights (issue 6; see docs/privacy-rights.md) ----

/**
 * Which sessions a user was seen in (pseudonymous keys only). Erasure and access find a user's
 * session Durable Objects through it even after retention trimmed the event log. Written with
 * the events (same D1 batch) and by a session object when it caches the user's profile.
 */
export const shopperSessions = sqliteTable(
  'shopper_sessions',
  {
    userKey: text('user_key').notNull(),
    sessionKey: text('session_key').notNull(),
    firstSeen: integer('first_seen').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userKey, t.sessionKey] }), index('shopper_sessions_session_idx').on(t.sessionKey)],
);

/** Proof that an erasure ran: when, and how much it removed. Holds no identifier of the shopper. */
export const erasureReceipts = sqliteTable('erasure_receipts', {
  id: text('id').primaryKey(),
  erasedAt: integer('erased_at').notNull(),
  /** counts per table / durable objects / R2 objects, as in the receipt returned to the caller */
  counts: text('counts', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
});

// ---- event log (issue 12; see docs/reliability.md) ----

/**
 * The R2 event log's manifest: one row per log object the queue consumer wrote (one per queue
 * message, ~100 events), in the consumer's D1 batch. `npm run data:export` lists the log through
 * it (wrangler cannot list R2 objects); erasure keeps `rows` in step when it rewrites an object.
 */
export const eventLogObjects = sqliteTable('event_log_objects', {
  /**
   * events/dt=YYYY-MM-DD/hr=HH/<claim>.ndjson.gz: keys sort by the hour the events were accepted,
   * so an hour range is a key range (the table is WITHOUT ROWID on this key, migration 0008: no
   * rowid, no second index; about half the bytes per object of the first layout).
   */
  key: text('key').primaryKey(),
  rows: integer('rows').notNull(),
  bytes: integer('bytes').notNull(),
  /** the object's events by type (admin stats count from them without reading R2); integers, not JSON: a few bytes per row */
  views: integer('views').notNull().default(0),
  clicks: integer('clicks').notNull().default(0),
  carts: integer('carts').notNull().default(0),
  purchases: integer('purchases').notNull().default(0),
  impressions: integer('impressions').notNull().default(0),
});

/**
 * Impressions and clicks on recommendations per canary arm, counted by the queue consumer: one
 * row per (rollout, queue message, arm), written with INSERT OR IGNORE, so a redelivered message
 * counts once. The canary rule sums them (worker/ops/canary.ts ctrByArm).
 */
export const canaryCtr = sqliteTable(
  'canary_ctr',
  {
    rolloutId: text('rollout_id').notNull(),
    claim: text('claim').notNull(),
    arm: text('arm', { enum: ['canary', 'stable'] }).notNull(),
    impressions: integer('impressions').notNull(),
    clicks: integer('clicks').notNull(),
  },
  (t) => [primaryKey({ columns: [t.rolloutId, t.claim, t.arm] })],
);

/**
 * Impressions and clicks on recommendations per queue message (the drift check's CTR stream),
 * counted by the consumer; keyed by the message's claim, so a redelivery counts once.
 */
export const recCtr = sqliteTable(
  'rec_ctr',
  {
    claim: text('claim').notNull(),
    receivedAt: integer('received_at').notNull(),
    impressions: integer('impressions').notNull(),
    clicks: integer('clicks').notNull(),
  },
  // WITHOUT ROWID on (received_at, claim) (migration 0008): the drift check's time range and the
  // redelivery guard in one key, no second index.
  (t) => [primaryKey({ columns: [t.receivedAt, t.claim] })],
);

/**
 * Erasure tombstones (worker/privacy/tombstones.ts): a pseudonymous user or session key whose
 * erasure started at `erasedAt`. The queue consumer drops a queued event of that key accepted
 * before then, so a message in flight when the erasure ran cannot bring the shopper's events
 * back. Expired by the daily maintenance workflow once no such message can still be queued.
 */
export const erasureTombstones = sqliteTable('erasure_tombstones', {
  key: text('key').primaryKey(),
  erasedAt: integer('erased_at').notNull(),
});

// ---- operator console KPIs (issue 14; see docs/console.md) ----

/**
 * Business KPI rollups, written by the events queue consumer (worker/events/kpi-rollup.ts): one
 * upsert per (grain, bucket, slot, segment) group per consumer batch, adding that batch's counts.
 * `bucket` is the start (ms, UTC) of the hour or day the events were accepted in; slot '' and
 * segment '' are the totals over all slots / segments. The console's KPI page reads only these
 * rows (never the event log). Only counts and sums: no identifier of any shopper.
 */
export const kpiRollups = sqliteTable(
  'kpi_rollups',
  {
    grain: text('grain', { enum: ['hour', 'day'] }).notNull(),
    bucket: integer('bucket').notNull(),
    slot: text('slot').notNull(),
    segment: text('segment').notNull(),
    /** distinct sessions with an event (day grain, slot '' only; 0 elsewhere) */
    visitors: integer('visitors').notNull().default(0),
    views: integer('views').notNull().default(0),
    impressions: integer('impressions').notNull().default(0),
    clicks: integer('clicks').notNull().default(0),
    carts: integer('carts').notNull().default(0),
    /** purchase events of one session sharing a timestamp (one checkout) */
    orders: integer('orders').notNull().default(0),
    /** purchase events (order lines) */
    items: integer('items').notNull().default(0),
    revenue: real('revenue').notNull().default(0),
    /** orders with a line attributed to a recommendation, and the value of attributed lines */
    recOrders: integer('rec_orders').notNull().default(0),
    recRevenue: real('rec_revenue').notNull().default(0),
    /** orders placed by a shopper who had purchased before (worker/session/durable-object.ts claim) */
    repeatOrders: integer('repeat_orders').notNull().default(0),
  },
  // WITHOUT ROWID (migration 0013): the rows live in the key's b-tree, no rowid table beside it.
  (t) => [primaryKey({ columns: [t.grain, t.bucket, t.slot, t.segment] })],
);

/**
 * Which sessions were already counted as visitors of a day (pseudonymous session keys only), so
 * a session seen in two consumer batches counts once. Kept for two days by the maintenance
 * workflow, erased with the shopper's other rows.
 */
export const kpiVisitors = sqliteTable(
  'kpi_visitors',
  {
    day: integer('day').notNull(),
    segment: text('segment').notNull(),
    sessionKey: text('session_key').notNull(),
  },
  // WITHOUT ROWID on (session_key, day, segment) (migration 0013): erasure finds a session's marks by
  // the key's prefix, the rollup checks a whole key, so no second index (one row written per mark).
  (t) => [primaryKey({ columns: [t.sessionKey, t.day, t.segment] })],
);

export type KpiRollupRow = typeof kpiRollups.$inferSelect;
