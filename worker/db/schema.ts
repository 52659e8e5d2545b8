/**
 * The one D1 schema (drizzle). Migrations in migrations/ are generated from this file
 * with `npm run db:generate`; row types used elsewhere are inferred from it.
 * Shopper identifiers are stored only as keyed hashes (`*_key` columns), never raw.
 */
import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

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
  },
  (t) => [index('items_category_idx').on(t.category), index('items_popularity_idx').on(t.popularity)],
);

/** Small key/value table: catalog version counter and similar single values. */
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
  summary: text('summary', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
});

/** Per-slot configuration: merchandising rules and the HTML template. */
export const slots = sqliteTable('slots', {
  slot: text('slot').primaryKey(),
  rules: text('rules', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  template: text('template'),
  updatedAt: integer('updated_at').notNull(),
});

export type Item = typeof items.$inferSelect;
export type NewItem = typeof items.$inferInsert;
export type EventRow = typeof events.$inferInsert;
export type Profile = typeof profiles.$inferSelect;
export type ModelRow = typeof models.$inferSelect;
export type SlotRow = typeof slots.$inferSelect;
