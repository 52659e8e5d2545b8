/**
 * Typed client for the edge personalization worker. Request and response types come from the
 * worker's own route definitions (Hono's RPC types over the zod schemas that also produce
 * /openapi.json), so the client and the API cannot drift apart. Runs wherever `fetch` does:
 * a server-rendered storefront (Node, Workers, Deno, Bun) or the browser.
 *
 *   const p13n = createClient({ baseUrl: 'https://shop.example' });
 *   const recs = await p13n.recommendations({ slot: 'home', session_id, k: 8 });
 *   const events = p13n.events({ session_id });   // batched; sendBeacon on pagehide in browsers
 *   events.track({ type: 'view', item_id: 'sku-1' });
 */
import type { z } from '@hono/zod-openapi';
import { hc } from 'hono/client';
import type { batchApi } from '../worker/api/batch';
import type { eventsApi } from '../worker/api/events';
import type { recommendationsApi } from '../worker/api/recommendations';
import type { rerankApi } from '../worker/api/rerank';
import type { similarApi } from '../worker/api/similar';
import type { trendingApi } from '../worker/api/trending';
import type { BatchRequestSchema, BatchResponseSchema, RerankRequestSchema, RerankResponseSchema, SimilarQuerySchema, TrendingQuerySchema } from '../worker/schemas/asks';
import type { CatalogItemSchema, CatalogPatchSchema, CatalogUpsertResultSchema } from '../worker/schemas/catalog';
import type { EventBatchResultSchema, EventSchema } from '../worker/schemas/events';
import type { RecommendationRequestSchema, RecommendationResponseSchema } from '../worker/schemas/recommendations';
import type { SlotConfigSchema } from '../worker/schemas/slots';

export type RecommendationRequest = z.input<typeof RecommendationRequestSchema>;
export type Recommendations = z.output<typeof RecommendationResponseSchema>;
export type RerankRequest = z.input<typeof RerankRequestSchema>;
export type RerankResult = z.output<typeof RerankResponseSchema>;
export type SimilarQuery = z.input<typeof SimilarQuerySchema>;
export type TrendingQuery = z.input<typeof TrendingQuerySchema>;
export type BatchRequest = z.input<typeof BatchRequestSchema>;
export type BatchResult = z.output<typeof BatchResponseSchema>;
export type Event = z.input<typeof EventSchema>;
export type EventBatchResult = z.output<typeof EventBatchResultSchema>;
export type CatalogItem = z.input<typeof CatalogItemSchema>;
export type CatalogPatch = z.input<typeof CatalogPatchSchema>;
export type CatalogUpsertResult = z.output<typeof CatalogUpsertResultSchema>;
export type SlotConfig = z.input<typeof SlotConfigSchema>;

export interface ClientOptions {
  /** Where the worker answers, e.g. "https://shop.example" (the HTML proxy's origin) or "" for same-origin in a browser. */
  baseUrl: string;
  /** Another fetch (tests, a service binding's fetch). Default: the global one. */
  fetch?: typeof fetch;
  /** Sent with every request, e.g. { 'X-P13n-User-Token': token } from a server-rendered storefront. */
  headers?: Record<string, string>;
  /**
   * The storefront backend's server key (X-P13n-Server-Key): lets it name any shopper's session
   * id. Server side only; a browser uses the session the worker issued in its p13n_sid cookie.
   */
  serverKey?: string;
  /** Bearer token for the admin methods (server side only: never ship it to a browser). */
  adminToken?: string;
}

/** A 4xx/5xx answer: the worker's JSON error ({ error: { code, message, issues? } }). */
export class P13nError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { field: string; message: string }[] = [],
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'P13nError';
  }
}

/** What the client reads of an answer (a fetch Response, or Hono's typed ClientResponse over it). */
interface Answer {
  ok: boolean;
  status: number;
  statusText: string;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

/** The browser parts the event tracker uses (absent on servers). */
interface PageGlobals {
  addEventListener?(type: string, fn: () => void): void;
  removeEventListener?(type: string, fn: () => void): void;
  document?: { visibilityState?: string };
  navigator?: { sendBeacon?(url: string, body: Blob): boolean };
  location?: { origin: string };
}
const page = globalThis as unknown as PageGlobals;

async function ok<R extends Answer>(res: R): Promise<R> {
  if (res.ok) return res;
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; issues?: { field: string; message: string }[] } } | null;
  throw new P13nError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? res.statusText, body?.error?.issues);
}
const json = async <T>(p: Promise<Answer>): Promise<T> => (await ok(await p)).json() as Promise<T>;

/** Query strings carry lists comma-separated and everything as text. */
function query(q: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

export function createClient(opts: ClientOptions) {
  const base = opts.baseUrl.replace(/\/$/, '') || (page.location?.origin ?? '');
  const fetcher = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const common = { fetch: fetcher, headers: { ...opts.headers, ...(opts.serverKey ? { 'X-P13n-Server-Key': opts.serverKey } : {}) } };
  const recs = hc<typeof recommendationsApi>(base, common);
  const rpc = {
    batch: hc<typeof batchApi>(base, common),
    rerank: hc<typeof rerankApi>(base, common),
    similar: hc<typeof similarApi>(base, common),
    trending: hc<typeof trendingApi>(base, common),
    events: hc<typeof eventsApi>(base, common),
  };
  // Per session id, the stamp of its last batch the worker took (session_stamp): sent back with
  // the session's next requests, so the answer reflects those events in whichever isolate.
  const stamps = new Map<string, number>();
  const sent = (events: Event[]) => async (p: Promise<Answer>) => {
    const result = await json<EventBatchResult>(p);
    const sid = events[0]?.session_id;
    if (result.session_stamp && sid && events.every((e) => e.session_id === sid)) {
      stamps.delete(sid); // re-insert: the newest stamps are kept when the map is trimmed
      stamps.set(sid, result.session_stamp);
      if (stamps.size > 10_000) stamps.delete(stamps.keys().next().value!);
    }
    return result;
  };
  const stamped = (sessionId: string | undefined) => {
    const at = sessionId === undefined ? undefined : stamps.get(sessionId);
    return at === undefined ? undefined : { headers: { 'X-P13n-Session-Stamp': String(at) } };
  };
  const admin = (path: string, method: string, body?: unknown) => {
    if (!opts.adminToken) throw new Error('adminToken is required for admin methods');
    return fetcher(`${base}${path}`, {
      method,
      headers: { ...common.headers, authorization: `Bearer ${opts.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };

  return {
    /** Personalized items for one slot. */
    recommendations: (req: RecommendationRequest) => json<Recommendations>(recs.v1.recommendations.$post({ json: req }, stamped(req.session_id))),
    /** The slot rendered to an HTML fragment with its template (to inline into a server-rendered page). */
    block: async (slot: string, req: Omit<RecommendationRequest, 'slot'> = {}) =>
      (await ok(await recs.v1.blocks[':slot'].$get({ param: { slot }, query: query(req) }, stamped(req.session_id)))).text(),
    /** Several slots of one page in one call, answers in order. */
    batch: (req: BatchRequest) => json<BatchResult>(rpc.batch.v1.recommendations.batch.$post({ json: req }, stamped(req.session_id))),
    /** Your own candidates (search results, a category page) ranked for this shopper; unknown ids come back in `unknown`. */
    rerank: (req: RerankRequest) => json<RerankResult>(rpc.rerank.v1.rerank.$post({ json: req }, stamped(req.session_id))),
    /** Items similar to one item (not personalized; cacheable). */
    similar: (itemId: string, q: SimilarQuery = {}) => json<Recommendations>(rpc.similar.v1.items[':item_id'].similar.$get({ param: { item_id: itemId }, query: query(q) })),
    /** What is rising, optionally in one category. */
    trending: (q: TrendingQuery = {}) => json<Recommendations>(rpc.trending.v1.trending.$get({ query: query(q) })),
    /** Send events now (one batch of up to 500). Prefer `events()` for batching. */
    sendEvents: (events: Event[], consent?: 'full' | 'essential' | 'none') => sent(events)(rpc.events.v1.events.$post({ json: { events, ...(consent ? { consent } : {}) } })),
    /** A batching event tracker (see EventTracker). */
    events: (defaults: TrackerDefaults = {}, options: TrackerOptions = {}) =>
      new EventTracker((events) => sent(events)(rpc.events.v1.events.$post({ json: { events } })), `${base}/v1/events`, defaults, options),
    admin: {
      upsertCatalog: (items: CatalogItem[]) => json<CatalogUpsertResult>(admin('/v1/admin/catalog', 'POST', items)),
      patchItem: (itemId: string, patch: CatalogPatch) => json<Record<string, unknown>>(admin(`/v1/admin/catalog/${encodeURIComponent(itemId)}`, 'PATCH', patch)),
      removeItem: (itemId: string) => json<Record<string, unknown>>(admin(`/v1/admin/catalog/${encodeURIComponent(itemId)}`, 'DELETE')),
      models: () => json<{ models: { version: string; status: string; created_at: number; activated_at: number | null }[] }>(admin('/v1/admin/models', 'GET')),
      activateModel: (version: string) => json<Record<string, unknown>>(admin(`/v1/admin/models/${encodeURIComponent(version)}/activate`, 'POST')),
      rollbackModel: () => json<Record<string, unknown>>(admin('/v1/admin/models/rollback', 'POST')),
      setSlot: (slot: string, config: SlotConfig) => json<Record<string, unknown>>(admin(`/v1/admin/slots/${encodeURIComponent(slot)}`, 'PUT', config)),
      health: () => json<Record<string, unknown>>(admin('/v1/admin/health', 'GET')),
    },
  };
}

export type Client = ReturnType<typeof createClient>;

/**
 * Filled into every tracked event: the shopper's session (and signed user token, if any). A
 * browser leaves session_id out: the worker takes its issued p13n_sid cookie's.
 */
export type TrackerDefaults = Partial<Pick<Event, 'session_id' | 'user_token'>>;
export interface TrackerOptions {
  /** Send once this many events wait (default 20; the API takes up to 500). */
  maxBatch?: number;
  /** Send waiting events after this long (ms, default 2000). */
  flushMs?: number;
  /** Browsers: flush with navigator.sendBeacon when the page is hidden or left (default true where available). */
  beacon?: boolean;
  /** Called with a batch that could not be sent with fetch (it is not retried by the tracker). */
  onError?: (error: unknown, events: Event[]) => void;
}
type TrackInput = Omit<Event, 'event_id' | 'timestamp' | 'session_id'> & Partial<Pick<Event, 'event_id' | 'timestamp' | 'session_id'>>;

/**
 * Events batched client-side: `track` queues (event_id and timestamp filled in, so a retried
 * batch is stored once), a batch goes out at `maxBatch` events or after `flushMs`. In a browser
 * the queue is handed to navigator.sendBeacon on `pagehide` and when the page is hidden, so
 * the last events of a page survive navigation (same-origin: the beacon's JSON body is not a
 * CORS-simple request).
 */
export class EventTracker {
  private queue: Event[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly maxBatch: number;
  private readonly flushMs: number;
  private readonly detach: () => void = () => {};

  constructor(
    private readonly send: (events: Event[]) => Promise<EventBatchResult>,
    private readonly beaconUrl: string,
    private readonly defaults: TrackerDefaults,
    private readonly options: TrackerOptions = {},
  ) {
    this.maxBatch = Math.min(500, Math.max(1, options.maxBatch ?? 20));
    this.flushMs = options.flushMs ?? 2000;
    const w = page;
    if (options.beacon !== false && typeof w.navigator?.sendBeacon === 'function' && w.addEventListener && w.removeEventListener) {
      const onHide = () => this.beaconFlush();
      const onVisibility = () => w.document?.visibilityState === 'hidden' && this.beaconFlush();
      w.addEventListener('pagehide', onHide);
      w.addEventListener('visibilitychange', onVisibility);
      this.detach = () => {
        w.removeEventListener!('pagehide', onHide);
        w.removeEventListener!('visibilitychange', onVisibility);
      };
    }
  }

  /** Queue one event. */
  track(e: TrackInput): void {
    this.queue.push({ event_id: crypto.randomUUID(), timestamp: Date.now(), ...this.defaults, ...e } as Event);
    if (this.queue.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
  }

  /** How many events wait. */
  get pending(): number {
    return this.queue.length;
  }

  /** Send everything waiting now, with fetch; resolves with the answers of the batches sent. */
  async flush(): Promise<EventBatchResult[]> {
    this.clearTimer();
    const out: EventBatchResult[] = [];
    while (this.queue.length) {
      const batch = this.queue.splice(0, Math.min(this.maxBatch, 500));
      try {
        out.push(await this.send(batch));
      } catch (e) {
        if (!this.options.onError) throw e;
        this.options.onError(e, batch);
      }
    }
    return out;
  }

  /** The page is going away: hand the queue to the browser (falls back to fetch with keepalive). */
  beaconFlush(): void {
    this.clearTimer();
    while (this.queue.length) {
      const batch = this.queue.splice(0, Math.min(this.maxBatch, 500));
      const body = JSON.stringify({ events: batch });
      const sent = page.navigator?.sendBeacon?.(this.beaconUrl, new Blob([body], { type: 'application/json' }));
      const init = { method: 'POST', body, keepalive: true, headers: { 'content-type': 'application/json' } };
      if (!sent) void fetch(this.beaconUrl, init as RequestInit).catch(() => undefined);
    }
  }

  /** Stop listening to page events (single-page apps that replace the tracker). */
  close(): void {
    this.clearTimer();
    this.detach();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
