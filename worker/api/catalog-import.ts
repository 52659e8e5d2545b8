/**
 * Catalog feeds through the admin API (docs/catalog.md):
 *   POST /v1/admin/catalog/import?format=csv|gmc|shopify[&full=true][&strict=true]  raw feed body
 *   POST /v1/admin/catalog/removals  {"since": ms, "listed": [ids]}  the end of a chunked full import (the CLI)
 * The body is bounded by the admin body limit (32 MiB, worker/app.ts). Routes validate and map
 * status; parsing is worker/catalog/feeds/, writing worker/catalog/import.ts.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { FEED_FORMATS, FeedError, FeedRejectionSchema, parseFeed, type ParsedFeed } from '../catalog/feeds';
import { applyFeed } from '../catalog/import';
import { CLOCK_MARGIN_MS, DEFAULT_MAX_REMOVED_SHARE, markUnlisted } from '../catalog/removals';
import { describeIssues, errorBody, zodIssues } from '../lib/errors';
import { MAX_CATALOG_ITEMS_PER_CALL } from '../schemas/catalog';
import { adminErrorResponses, ErrorSchema, Id } from '../schemas/common';
import { router } from './types';

const security = [{ bearerAuth: [] }];
/** Rejections listed in one answer; rejected_count has them all. */
export const MAX_LISTED_REJECTIONS = 1000;

const Flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const Share = z.coerce.number().min(0).max(1);

export const ImportQuerySchema = z.object({
  format: z.enum(FEED_FORMATS).optional().openapi({ description: 'csv, gmc (Merchant Center XML or TSV) or shopify (products.json); recognised from the body when left out' }),
  full: Flag.default(false).openapi({ type: 'string', enum: ['true', 'false'], description: 'The feed is the whole catalog: items it does not list are marked removed (in_stock false, kept)' }),
  strict: Flag.default(false).openapi({ type: 'string', enum: ['true', 'false'], description: 'Write nothing if any row is bad (400 listing them)' }),
  max_removed_share: Share.default(DEFAULT_MAX_REMOVED_SHARE).openapi({ description: 'full=true marks nothing when more than this share of the live catalog would be marked (a truncated feed)' }),
});

const RemovalSchema = z
  .object({
    removed: z.number().int(),
    live: z.number().int().openapi({ description: 'Live (unmarked) items before the marks' }),
    refused: z.string().nullable().openapi({ description: 'Why nothing was marked, when the guard refused' }),
    catalog_version: z.number().int(),
  })
  .openapi('CatalogRemoval');

const ImportResultSchema = z
  .object({
    format: z.enum(FEED_FORMATS),
    syntax: z.enum(['csv', 'tsv', 'xml', 'json']),
    rows: z.number().int(),
    upserted: z.number().int(),
    rejected_count: z.number().int(),
    rejected: z.array(FeedRejectionSchema).openapi({ description: `Bad rows by line (CSV/TSV/XML) or index path (JSON); at most ${MAX_LISTED_REJECTIONS}` }),
    removal: RemovalSchema.nullable(),
    catalog_version: z.number().int(),
    written_at: z.number().int().nullable(),
  })
  .openapi('CatalogImportResult');
type ImportResult = z.infer<typeof ImportResultSchema>;

const FEED_TYPES = ['application/xml', 'text/xml', 'text/csv', 'text/tab-separated-values', 'application/json', 'text/plain'];

function summary(feed: ParsedFeed): Omit<ImportResult, 'upserted' | 'removal' | 'catalog_version' | 'written_at'> {
  return { format: feed.format, syntax: feed.syntax, rows: feed.rows, rejected_count: feed.rejected.length, rejected: feed.rejected.slice(0, MAX_LISTED_REJECTIONS) };
}

/** The usual error shape, its issues naming the rows ("line 12: g:price"), plus the import's own fields. */
function rowsError(code: string, message: string, feed: ParsedFeed) {
  const issues = feed.rejected.slice(0, 20).flatMap((r) => r.issues.map((i) => ({ field: `${r.line !== null ? `line ${r.line}` : r.path}: ${i.field}`, message: i.message })));
  return { ...errorBody(code, `${message}: ${describeIssues(issues.slice(0, 5))}`, issues), ...summary(feed), upserted: 0, removal: null, catalog_version: 0, written_at: null };
}

export const catalogFeedsApi = router();

catalogFeedsApi.openAPIRegistry.registerPath({
  method: 'post',
  path: '/v1/admin/catalog/import',
  summary: 'Import a catalog feed: CSV, Google Merchant Center (XML or TSV) or Shopify products.json; up to 10,000 items and 32 MiB per call',
  description:
    'The raw feed is the body. Bad rows are reported by line (or JSON index path) and skipped; the valid ones are upserted. With full=true, catalog items the feed does not list are marked removed (in_stock false, removed_at set, never deleted), unless the feed was cut off or more than max_removed_share of the catalog would be marked. docs/catalog.md has the field mapping.',
  security,
  request: {
    query: ImportQuerySchema,
    body: { required: true, content: Object.fromEntries(FEED_TYPES.map((t) => [t, { schema: z.string().openapi({ description: 'The feed as exported' }) }])) },
  },
  responses: {
    200: { description: 'Imported (rejected rows listed)', content: { 'application/json': { schema: ImportResultSchema } } },
    ...adminErrorResponses,
    413: { description: 'More than 10,000 items (split the feed, or use npm run catalog:import) or a body over 32 MiB', content: { 'application/json': { schema: ErrorSchema } } },
  },
});
catalogFeedsApi.post('/v1/admin/catalog/import', async (c) => {
  const q = ImportQuerySchema.safeParse(c.req.query());
  if (!q.success) {
    const issues = zodIssues(q.error);
    return c.json(errorBody('invalid_request', describeIssues(issues), issues), 400);
  }
  let feed: ParsedFeed;
  try {
    feed = parseFeed(await c.req.text(), q.data.format);
  } catch (e) {
    if (!(e instanceof FeedError)) throw e;
    return c.json(errorBody('invalid_feed', e.message, [{ field: e.line === null ? '(feed)' : `line ${e.line}`, message: e.message }]), 400);
  }
  if (feed.items.length > MAX_CATALOG_ITEMS_PER_CALL)
    return c.json(errorBody('too_many_items', `at most ${MAX_CATALOG_ITEMS_PER_CALL} items per call, the feed has ${feed.items.length}: use npm run catalog:import, which sends it in chunks`), 413);
  if (!feed.items.length) return c.json(rowsError('invalid_feed', 'no valid item in the feed', feed), 400);
  if (q.data.strict && feed.rejected.length) return c.json(rowsError('invalid_rows', `${feed.rejected.length} bad rows, nothing written (strict)`, feed), 400);
  const applied = await applyFeed(c.env.DB, feed, { full: q.data.full, maxRemovedShare: q.data.max_removed_share });
  return c.json({ ...summary(feed), ...applied } satisfies ImportResult, 200);
});

catalogFeedsApi.openapi(
  createRoute({
    method: 'post',
    path: '/v1/admin/catalog/removals',
    summary: 'Mark items a full feed did not list (in_stock false, removed_at; never deleted): the last call of a chunked full import',
    description:
      'Items not written since `since` (the written_at of the import\'s first upsert, less one minute for clock differences between machines) and not already marked are marked removed; ids in `listed` (the feed\'s bad rows) count as listed. Nothing is marked when more than max_removed_share of the live catalog would be.',
    security,
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              since: z.number().int().positive().refine((t) => t <= Date.now() + CLOCK_MARGIN_MS, 'must not be in the future (use written_at from the first upsert)'),
              listed: z.array(Id).max(MAX_CATALOG_ITEMS_PER_CALL).default([]),
              max_removed_share: z.number().min(0).max(1).default(DEFAULT_MAX_REMOVED_SHARE),
            }),
          },
        },
      },
    },
    responses: { 200: { description: 'Marked (or refused by the guard)', content: { 'application/json': { schema: RemovalSchema } } }, ...adminErrorResponses },
  }),
  async (c) => {
    const b = c.req.valid('json');
    // The chunks were written by whichever machines took the calls (CLOCK_MARGIN_MS).
    return c.json(await markUnlisted(c.env.DB, { since: b.since - CLOCK_MARGIN_MS, listed: b.listed, maxShare: b.max_removed_share }), 200);
  },
);
