import { createRoute, z } from '@hono/zod-openapi';
import { and, count, gte, lt, sql } from 'drizzle-orm';
import { buildCatalogSnapshot, SnapshotConflict } from '../catalog/builder';
import { catalogReadStats } from '../catalog/read-stats';
import { getServingCatalog, servingStatus } from '../catalog/serving';
import { patchItem, removeItem, toRow, upsertItemsAt } from '../catalog/writes';
import { db } from '../db/client';
import { eventLogObjects, events, items, profiles } from '../db/schema';
import { hourPrefix, LOG_PREFIX } from '../events/log-store';
import { activateModel, listModels, rollbackModel } from '../inference/registry';
import { getModel, markModelStale, modelStatus } from '../inference/model-store';
import { ApiError, describeIssues, errorBody, zodIssues } from '../lib/errors';
import { validLocale } from '../lib/vars';
import { parseTemplate, TemplateError } from '../render/template';
import { CatalogItemSchema, CatalogPatchSchema, CatalogUpsertResultSchema, MAX_CATALOG_ITEMS_PER_CALL, type CatalogItemInput } from '../schemas/catalog';
import { adminErrorResponses, ErrorSchema, Id } from '../schemas/common';
import { SlotConfigSchema } from '../schemas/slots';
import { listSlotConfigs, putSlotConfig } from '../slots/config';
import { opsAdminApi, opsHealth, supersedeCanary } from '../ops/admin';
import { faultInjectionEnabled, faultStatus, setFaults } from '../ops/fault-injection';
import { requireAdmin } from './admin-auth';
import { catalogFeedsApi } from './catalog-import';
import { shoppersAdminApi } from './shoppers';
import { router } from './types';

const security = [{ bearerAuth: [] }];
const ok = <T extends z.ZodType>(schema: T, description = 'OK') => ({
  200: { description, content: { 'application/json': { schema } } },
  ...adminErrorResponses,
});
const notFound = { 404: { description: 'Not found', content: { 'application/json': { schema: ErrorSchema } } } };

const ModelSchema = z
  .object({
    version: z.string(),
    status: z.string(),
    sha256: z.string(),
    bytes: z.number(),
    created_at: z.number(),
    activated_at: z.number().nullable(),
    previous_version: z.string().nullable(),
    summary: z.record(z.string(), z.unknown()),
  })
  .openapi('ModelVersion');

const CatalogSnapshotSchema = z
  .object({
    id: z.string(),
    seq: z.number().int().openapi({ description: 'The last change-log entry the snapshot includes' }),
    items: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string(),
    ms: z.number(),
    previous: z.string().nullable().openapi({ description: 'The snapshot it replaced (kept as the fallback)' }),
    trimmed: z.number().int().openapi({ description: 'Change-log rows deleted (already in both kept snapshots)' }),
  })
  .openapi('CatalogSnapshot');

function modelJson(m: Awaited<ReturnType<typeof listModels>>[number]) {
  return {
    version: m.version,
    status: m.status,
    sha256: m.sha256,
    bytes: m.bytes,
    created_at: m.createdAt,
    activated_at: m.activatedAt,
    previous_version: m.previousVersion,
    summary: m.summary,
  };
}

/** JSON array or NDJSON (one item per line); each item is validated on its own. */
function parseCatalogBody(text: string, contentType: string): { items: CatalogItemInput[]; rejected: z.infer<typeof CatalogUpsertResultSchema>['rejected'] } {
  let raw: { line: number; value: unknown; error?: string }[];
  if (contentType.includes('ndjson') || contentType.includes('jsonl')) {
    raw = text.split('\n').flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        return [{ line: i + 1, value: JSON.parse(l) as unknown }];
      } catch {
        return [{ line: i + 1, value: null, error: 'is not valid JSON' }];
      }
    });
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(400, 'invalid_json', 'body is not valid JSON (send a JSON array, or NDJSON with Content-Type: application/x-ndjson)');
    }
    if (!Array.isArray(parsed)) throw new ApiError(400, 'invalid_request', 'body must be a JSON array of catalog items');
    raw = parsed.map((value, i) => ({ line: i + 1, value }));
  }
  if (raw.length === 0) throw new ApiError(400, 'invalid_request', 'no catalog items in the body');
  if (raw.length > MAX_CATALOG_ITEMS_PER_CALL) throw new ApiError(413, 'too_many_items', `at most ${MAX_CATALOG_ITEMS_PER_CALL} items per call, got ${raw.length}`);
  const out: CatalogItemInput[] = [];
  const rejected: z.infer<typeof CatalogUpsertResultSchema>['rejected'] = [];
  for (const r of raw) {
    const id = typeof (r.value as { item_id?: unknown })?.item_id === 'string' ? (r.value as { item_id: string }).item_id : null;
    if (r.error) {
      rejected.push({ line: r.line, item_id: null, issues: [{ field: '(line)', message: r.error }] });
      continue;
    }
    const p = CatalogItemSchema.safeParse(r.value);
    if (p.success) out.push(p.data);
    else rejected.push({ line: r.line, item_id: id, issues: zodIssues(p.error) });
  }
  return { items: out, rejected };
}

const FaultsSchema = z.object({ d1_outage_ms: z.number().int().min(0).max(600_000).optional(), consumer_crashes: z.number().int().min(0).max(100).optional() }).strict();

export const adminApi = router();
adminApi.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
adminApi.use('/v1/admin/*', requireAdmin);

// Catalog upsert takes JSON or NDJSON, so it is documented here and parsed by hand.
adminApi.openAPIRegistry.registerPath({
  method: 'post',
  path: '/v1/admin/catalog',
  summary: 'Bulk upsert catalog items (JSON array or NDJSON, up to 10,000 per call)',
  security,
  request: {
    body: {
      required: true,
      content: { 'application/json': { schema: z.array(CatalogItemSchema) }, 'application/x-ndjson': { schema: z.string().openapi({ description: 'One CatalogItem JSON per line' }) } },
    },
  },
  responses: ok(CatalogUpsertResultSchema),
});
adminApi.post('/v1/admin/catalog', async (c) => {
  const { items: valid, rejected } = parseCatalogBody(await c.req.text(), c.req.header('content-type') ?? 'application/json');
  const written = valid.length ? await upsertItemsAt(c.env.DB, valid) : undefined;
  const body = { upserted: valid.length, rejected, catalog_version: written?.version ?? 0, written_at: written?.writtenAt ?? null };
  if (valid.length) return c.json(body, 200);
  // Nothing stored: the usual error shape, plus the per-item reasons.
  const issues = rejected.flatMap((r) => r.issues.map((i) => ({ field: `line ${r.line}: ${i.field}`, message: i.message })));
  return c.json({ ...errorBody('invalid_request', `no valid catalog item: ${describeIssues(issues.slice(0, 5))}`), ...body }, 400);
});

adminApi
  .openapi(
    createRoute({
      method: 'patch',
      path: '/v1/admin/catalog/{item_id}',
      summary: 'Change fields of one item (e.g. {"in_stock": false})',
      security,
      request: { params: z.object({ item_id: Id }), body: { required: true, content: { 'application/json': { schema: CatalogPatchSchema } } } },
      responses: { ...ok(z.object({ item_id: z.string(), updated: z.boolean() })), ...notFound },
    }),
    async (c) => {
      const { item_id } = c.req.valid('param');
      const patch = c.req.valid('json');
      const row = toRow({ item_id, title: 'x', tags: [], in_stock: true, ...patch } as CatalogItemInput, Date.now());
      const set = Object.fromEntries(
        Object.entries({ title: row.title, category: row.category, brand: row.brand, price: row.price, imageUrl: row.imageUrl, url: row.url, tags: row.tags, inStock: row.inStock, popularity: row.popularity }).filter(
          ([k]) => (k === 'imageUrl' ? 'image_url' : k === 'inStock' ? 'in_stock' : k) in patch,
        ),
      );
      if (!(await patchItem(c.env.DB, item_id, set))) throw new ApiError(404, 'not_found', `item "${item_id}" is not in the catalog`);
      return c.json({ item_id, updated: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/admin/catalog/{item_id}',
      summary: 'Remove an item from the catalog',
      security,
      request: { params: z.object({ item_id: Id }) },
      responses: { ...ok(z.object({ item_id: z.string(), removed: z.boolean() })), ...notFound },
    }),
    async (c) => {
      const { item_id } = c.req.valid('param');
      if (!(await removeItem(c.env.DB, item_id))) throw new ApiError(404, 'not_found', `item "${item_id}" is not in the catalog`);
      return c.json({ item_id, removed: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/catalog/snapshot',
      summary:
        'Build a columnar catalog snapshot now (R2, then the meta row naming it); isolates load it in the background. The cron builds one when more than CATALOG_DELTA_MAX changes wait.',
      security,
      responses: {
        ...ok(CatalogSnapshotSchema),
        409: { description: 'Another build finished first; its snapshot is current', content: { 'application/json': { schema: ErrorSchema } } },
      },
    }),
    async (c) => {
      try {
        return c.json(await buildCatalogSnapshot(c.env), 200);
      } catch (e) {
        if (e instanceof SnapshotConflict) throw new ApiError(409, 'conflict', e.message);
        throw e;
      }
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/v1/admin/models', summary: 'Registered model versions, newest first', security, responses: ok(z.object({ models: z.array(ModelSchema) })) }),
    async (c) => c.json({ models: (await listModels(c.env.DB)).map(modelJson) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/models/{version}/activate',
      summary: 'Activate a registered model version (isolates pick it up without a redeploy)',
      security,
      request: { params: z.object({ version: Id }) },
      responses: { ...ok(ModelSchema), ...notFound },
    }),
    async (c) => {
      await supersedeCanary(c.env.DB, `direct activation of ${c.req.valid('param').version}`);
      const m = await activateModel(c.env.DB, c.req.valid('param').version);
      markModelStale();
      return c.json(modelJson(m), 200);
    },
  )
  .openapi(
    createRoute({ method: 'post', path: '/v1/admin/models/rollback', summary: 'Re-activate the version the active one replaced', security, responses: ok(ModelSchema) }),
    async (c) => {
      const m = await rollbackModel(c.env.DB);
      markModelStale();
      return c.json(modelJson(m), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/health',
      summary: 'Model, catalog and storage health; fallback rate, canary and drift (docs/operations.md explains each state)',
      security,
      responses: ok(
        z.object({
          status: z.enum(['ok', 'degraded']),
          reasons: z.array(z.string()),
          model: z.record(z.string(), z.unknown()),
          storage: z.record(z.string(), z.unknown()),
          traffic: z.record(z.string(), z.unknown()),
          drift: z.record(z.string(), z.unknown()).nullable(),
          exports: z.record(z.string(), z.unknown()).nullable(),
          events: z.record(z.string(), z.unknown()).openapi({ description: 'Event buffer: events accepted while the event log failed, not yet stored in D1' }),
          faults: z.record(z.string(), z.unknown()).openapi({ description: 'Dependencies (session_object, inference, origin) that failed in this isolate in the last 5 minutes' }),
        }),
      ),
    }),
    async (c) => {
      const t0 = Date.now();
      const d1 = await c.env.DB.prepare('SELECT 1')
        .first()
        .then(() => ({ ok: true, ms: Date.now() - t0 }))
        .catch((e: Error) => ({ ok: false, error: e.message }));
      const r2 = await c.env.MODELS.head('healthcheck')
        .then(() => ({ ok: true }))
        .catch((e: Error) => ({ ok: false, error: e.message }));
      await getModel(c.env, 10_000).catch(() => undefined);
      const model = modelStatus();
      const catalog = await getServingCatalog(c.env).catch(() => null);
      const degraded = !d1.ok || !r2.ok || !model.version || model.version !== model.activeVersion || !!model.lastError;
      // Operations (issue 7): registry age, exports bucket, metrics object, fallback rate, canary, drift.
      const ops = await opsHealth(c.env);
      const reasons = [
        ...(!d1.ok ? ['d1_unreachable'] : []),
        ...(!r2.ok ? ['r2_unreachable'] : []),
        ...(!model.activeVersion ? ['no_active_model'] : !model.version ? ['model_not_loaded'] : model.version !== model.activeVersion ? ['model_not_current'] : []),
        ...(model.lastError ? ['model_load_error'] : []),
        ...ops.reasons,
      ];
      return c.json(
        {
          status: degraded || reasons.length ? ('degraded' as const) : ('ok' as const),
          reasons,
          model: { ...model, age_ms: model.loadedAt ? Date.now() - model.loadedAt : null, ...ops.model },
          storage: {
            d1,
            r2,
            catalog_items: catalog?.size ?? null,
            catalog_version: catalog?.version ?? null,
            catalog: { ...servingStatus(catalog), reads: catalogReadStats() },
            ...ops.storage,
          },
          traffic: ops.traffic,
          drift: ops.drift,
          exports: ops.exports,
          events: ops.events,
          faults: ops.faults,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/stats',
      summary:
        'Catalog, profile and event counts. Events are counted from the R2 event log\'s manifest (event_log_objects: rows and counts by type per object, no R2 read) plus the legacy D1 `events` table while it drains; events_24h by type covers the log partitions of the last 24 hours (by the hour the events were accepted) and legacy rows by event time.',
      security,
      responses: ok(
        z.object({
          items: z.number(),
          profiles: z.number(),
          events_total: z.number(),
          events_24h: z.record(z.string(), z.number()),
          event_log: z.object({ objects: z.number(), events: z.number(), bytes: z.number() }).openapi({ description: 'The R2 event log (manifest totals)' }),
          legacy_events: z.number().openapi({ description: 'Rows left in the legacy D1 events table' }),
          d1_bytes: z.number().nullable().openapi({ description: "D1's database size in bytes (D1 caps a database at 10 GB)" }),
        }),
      ),
    }),
    async (c) => {
      const d = db(c.env.DB);
      const since = Date.now() - 24 * 3600_000;
      const sinceHour = hourPrefix(since);
      const [[i], [p], [e], byType, [log], logByType] = await d.batch([
        d.select({ n: count() }).from(items),
        d.select({ n: count() }).from(profiles),
        d.select({ n: count() }).from(events),
        d.select({ type: events.type, n: count() }).from(events).where(gte(events.ts, since)).groupBy(events.type),
        d.select({ objects: count(), events: sql<number>`COALESCE(SUM(${eventLogObjects.rows}), 0)`, bytes: sql<number>`COALESCE(SUM(${eventLogObjects.bytes}), 0)` }).from(eventLogObjects),
        // Partitions of the current hour and the 24 before it (keys sort by hour: a key range).
        d
          .select({
            view: sql<number>`COALESCE(SUM(${eventLogObjects.views}), 0)`,
            click: sql<number>`COALESCE(SUM(${eventLogObjects.clicks}), 0)`,
            add_to_cart: sql<number>`COALESCE(SUM(${eventLogObjects.carts}), 0)`,
            purchase: sql<number>`COALESCE(SUM(${eventLogObjects.purchases}), 0)`,
            impression: sql<number>`COALESCE(SUM(${eventLogObjects.impressions}), 0)`,
          })
          .from(eventLogObjects)
          .where(and(gte(eventLogObjects.key, sinceHour), lt(eventLogObjects.key, `${LOG_PREFIX}~`))),
      ]);
      const size = await c.env.DB.prepare('SELECT 1')
        .run()
        .then((r) => (r.meta as { size_after?: number }).size_after ?? null)
        .catch(() => null);
      const last24h: Record<string, number> = {};
      const add = (type: string, n: number) => {
        if (Number(n)) last24h[type] = (last24h[type] ?? 0) + Number(n);
      };
      for (const r of byType) add(r.type, r.n);
      for (const [type, n] of Object.entries(logByType[0] ?? {})) add(type, n);
      return c.json(
        {
          items: i!.n,
          profiles: p!.n,
          events_total: Number(log!.events) + e!.n,
          events_24h: last24h,
          event_log: { objects: log!.objects, events: Number(log!.events), bytes: Number(log!.bytes) },
          legacy_events: e!.n,
          d1_bytes: size,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/v1/admin/slots', summary: 'Slot configurations', security, responses: ok(z.object({ slots: z.array(z.record(z.string(), z.unknown())) })) }),
    async (c) => c.json({ slots: (await listSlotConfigs(c.env.DB)).map((s) => ({ slot: s.slot, rules: s.rules, template: s.template, currency: s.currency, locale: s.locale, updated_at: s.updatedAt })) }, 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/admin/slots/{slot}',
      summary: "Set a slot's merchandising rules, template, currency and locale",
      security,
      request: { params: z.object({ slot: Id }), body: { required: true, content: { 'application/json': { schema: SlotConfigSchema } } } },
      responses: ok(z.object({ slot: z.string(), updated: z.boolean() })),
    }),
    async (c) => {
      const { slot } = c.req.valid('param');
      const cfg = c.req.valid('json');
      if (cfg.template) {
        try {
          parseTemplate(cfg.template);
        } catch (e) {
          if (e instanceof TemplateError) throw new ApiError(400, 'invalid_template', `template: ${e.message}`);
          throw e;
        }
      }
      await putSlotConfig(c.env.DB, slot, { rules: cfg.rules, template: cfg.template ?? null, currency: cfg.currency ?? null, locale: validLocale(cfg.locale) });
      return c.json({ slot, updated: true }, 200);
    },
  );

// Test-only fault switch (worker/ops/fault-injection.ts): exists only when FAULT_INJECTION = "on"
// (npm run soak); left out of the OpenAPI document on purpose. Body: {"d1_outage_ms", "consumer_crashes"}.
adminApi.get('/v1/admin/faults', (c) => (faultInjectionEnabled(c.env) ? c.json(faultStatus(c.env), 200) : c.json(errorBody('not_found', 'no route for GET /v1/admin/faults'), 404)));
adminApi.post('/v1/admin/faults', async (c) => {
  if (!faultInjectionEnabled(c.env)) return c.json(errorBody('not_found', 'no route for POST /v1/admin/faults'), 404);
  const body = FaultsSchema.safeParse(await c.req.json().catch(() => null));
  if (!body.success) throw new ApiError(400, 'invalid_request', describeIssues(zodIssues(body.error)));
  setFaults({ d1OutageMs: body.data.d1_outage_ms, consumerCrashes: body.data.consumer_crashes });
  return c.json(faultStatus(c.env), 200);
});

// Catalog feeds (issue 14): CSV, Merchant Center and Shopify imports, full-feed removal marks (worker/api/catalog-import.ts).
adminApi.route('/', catalogFeedsApi);
// Operations (issue 7): metrics summary, canary rollouts, export runs (worker/ops/admin.ts).
adminApi.route('/', opsAdminApi);
// Shopper rights (issue 6): erasure and access (worker/api/shoppers.ts).
adminApi.route('/', shoppersAdminApi);
