/**
 * Examples for the operations whose route definitions carry none (mostly the admin API), added
 * to /openapi.json where the route left a gap: what /docs shows and "try it" pre-fills. A route
 * that sets its own example keeps it; test/worker/docs.test.ts fails for a route with none.
 */
type Doc = { paths?: Record<string, Record<string, { requestBody?: Media; responses?: Record<string, Media> }>> };
type Media = { content?: Record<string, { example?: unknown; examples?: unknown }> };

const model = { version: '2026-11-30-a', status: 'active', sha256: '9f2c…', bytes: 412_733, created_at: 1764460800000, activated_at: 1764464400000, previous_version: '2026-11-23-a', summary: { ndcg_at_10: 0.41 } };
const rollout = { id: 'ro-1', version: '2026-11-30-a', stable_version: '2026-11-23-a', share: 0.1, status: 'running', rule: { min_requests: 500 }, started_at: 1764460800000, decided_at: null, decision: null, counts: { canary: { requests: 120 }, stable: { requests: 1080 } } };
const item = { item_id: 'sku-1', title: 'Hydrating serum 30 ml', category: 'skincare', brand: 'Aurea', price: 24.9, image_url: 'https://shop.example/img/sku-1.jpg', url: '/p/sku-1', tags: ['vegan'], in_stock: true, popularity: 120 };
const segment = { description: 'Bought at least twice', enabled: true, when: [{ feature: 'purchase_count', op: '>=', value: 2 }], score: [], threshold: 0.5 };
const slotConfig = { rules: { pin: [{ item_id: 'sku-1', position: 1 }], boost: [{ brand: 'Aurea', factor: 1.5 }], bury: [] }, template: null, currency: 'EUR', locale: 'de-DE' };

/** By "METHOD /path": { request?, response } (the 200 answer). */
export const EXAMPLES: Record<string, { request?: unknown; response: unknown }> = {
  'GET /v1/blocks/{slot}': { response: '<section class="p13n-block" data-p13n-slot="home-recs"><a data-p13n-item="sku-1" href="/p/sku-1">Hydrating serum 30 ml</a>…</section>' },
  'POST /v1/admin/catalog': { request: [item], response: { upserted: 1, rejected: [], catalog_version: 42, written_at: 1764460800000 } },
  'POST /v1/admin/catalog/import': {
    request:
      '<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n<item><g:id>sku-1</g:id><title>Hydrating serum 30 ml</title><link>https://shop.example/p/sku-1</link><g:price>24.90 USD</g:price><g:availability>in stock</g:availability><g:brand>Aurea</g:brand><g:product_type>skincare</g:product_type></item>\n<item><g:id>sku-2</g:id><title>Night cream</title><g:price>a lot</g:price></item>\n</channel></rss>',
    response: {
      format: 'gmc',
      syntax: 'xml',
      rows: 2,
      upserted: 1,
      rejected_count: 1,
      rejected: [{ line: 4, path: null, item_id: 'sku-2', issues: [{ field: 'g:price', message: '"a lot" is not a price like "12.99 USD"' }] }],
      removal: { removed: 3, live: 120, refused: null, catalog_version: 1807 },
      catalog_version: 1807,
      written_at: 1764460800000,
    },
  },
  'POST /v1/admin/catalog/removals': { request: { since: 1764460800000, listed: ['sku-2'] }, response: { removed: 3, live: 120, refused: null, catalog_version: 1807 } },
  'PATCH /v1/admin/catalog/{item_id}': { request: { in_stock: false }, response: { item_id: 'sku-1', updated: true } },
  'DELETE /v1/admin/catalog/{item_id}': { response: { item_id: 'sku-1', removed: true } },
  'POST /v1/admin/catalog/snapshot': { response: { id: 'snap-42', seq: 1804, items: 10_000, bytes: 1_204_551, sha256: '5b1e…', ms: 840, previous: 'snap-41', trimmed: 1200 } },
  'GET /v1/admin/models': { response: { models: [model] } },
  'POST /v1/admin/models/{version}/activate': { response: model },
  'POST /v1/admin/models/rollback': { response: { ...model, version: '2026-11-23-a', previous_version: '2026-11-30-a' } },
  'GET /v1/admin/health': {
    response: { status: 'ok', reasons: [], model: { version: '2026-11-30-a' }, storage: { d1: 'ok', r2: 'ok' }, traffic: { requests: 1204 }, drift: null, exports: null, events: { queued: 0 }, faults: {} },
  },
  'GET /v1/admin/stats': { response: { items: 10_000, profiles: 5231, events_total: 184_220, events_24h: { view: 9120, purchase: 212 }, event_log: { objects: 96, events: 184_220, bytes: 31_004_112 }, legacy_events: 0, d1_bytes: 48_201_728 } },
  'GET /v1/admin/slots': { response: { slots: [{ slot: 'home-recs', ...slotConfig }] } },
  'PUT /v1/admin/slots/{slot}': { request: slotConfig, response: { slot: 'home-recs', updated: true } },
  'GET /v1/admin/metrics': { response: { window_ms: 3_600_000, requests: 1204, fallback_rate: 0.01, p95_ms: 18 } },
  'POST /v1/admin/models/{version}/canary': { request: { share: 0.1, min_requests: 500 }, response: rollout },
  'GET /v1/admin/models/canary': { response: { running: rollout, recent: [] } },
  'POST /v1/admin/models/canary/abort': { response: { ...rollout, status: 'cancelled', decided_at: 1764464400000, decision: { action: 'rollback', reason: 'aborted by an operator', trigger: 'admin', decided_by: 'operator' } } },
  'GET /v1/admin/exports': { response: { runs: [{ id: 'export-2026-12-01', status: 'done', rows: 184_220 }] } },
  'GET /v1/admin/experiments': { response: { experiments: [{ id: 'home-ab', slot: 'home-recs', status: 'running', variants: [{ name: 'control', strategy: 'popular', weight: 50 }, { name: 'model', strategy: 'model', weight: 50 }] }] } },
  'GET /v1/admin/experiments/{id}': { response: { id: 'home-ab', slot: 'home-recs', status: 'running', variants: [{ name: 'control', strategy: 'popular', weight: 50 }, { name: 'model', strategy: 'model', weight: 50 }] } },
  'POST /v1/admin/experiments/{id}/{action}': { response: { id: 'home-ab', status: 'stopped' } },
  'GET /v1/admin/experiments/{id}/report': { response: { id: 'home-ab', variants: [{ name: 'control', impressions: 5120, clicks: 210, ctr: 0.041 }, { name: 'model', impressions: 5080, clicks: 262, ctr: 0.052 }] } },
  'GET /v1/admin/segments': { response: { segments: { loyal: segment } } },
  'PUT /v1/admin/segments/{name}': { request: segment, response: { name: 'loyal', updated: true } },
  'DELETE /v1/admin/segments/{name}': { response: { name: 'loyal', removed: true } },
  'GET /v1/admin/holdout': { response: { share: 0.05 } },
  'PUT /v1/admin/holdout': { request: { share: 0.05 }, response: { share: 0.05 } },
  'GET /v1/admin/shoppers/erase/{id}': { response: { id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', status: 'running' } },
  'GET /v1/admin/shoppers/export/{id}': { response: { id: '6fa459ea-ee8a-3ca4-894e-db77e160355e', status: 'queued' } },
  'GET /v1/admin/dashboard': { response: '<!doctype html><title>p13n dashboard</title>…' },
};

const has = (m: Media | undefined) => Object.values(m?.content ?? {}).some((c) => c.example !== undefined || c.examples !== undefined);

/** The document with the examples above filled in where an operation has none of its own. */
export function withExamples<D extends object>(document: D): D {
  const doc = document as Doc;
  for (const [key, ex] of Object.entries(EXAMPLES)) {
    const [method, path] = key.split(' ') as [string, string];
    const op = doc.paths?.[path]?.[method.toLowerCase()];
    if (!op) continue;
    const first = (m: Media | undefined) => Object.values(m?.content ?? {})[0];
    if (ex.request !== undefined && !has(op.requestBody)) {
      const c = first(op.requestBody);
      if (c) c.example = ex.request;
    }
    const ok = op.responses?.['200'];
    const c = first(ok);
    if (c && !has(ok)) c.example = ex.response;
  }
  return document;
}
