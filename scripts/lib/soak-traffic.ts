/**
 * Shopper traffic for `npm run soak`: sessions that alternate recommendation requests and event
 * batches like a storefront's beacon, plus the mistakes real clients make (retried batches,
 * invalid events, malformed requests), and a ledger of what the API must have stored.
 */
import { seededRng, type Rng } from '../../worker/bandits/thompson';
import { EVENT_TYPES } from '../../worker/schemas/events';

type EventType = (typeof EVENT_TYPES)[number];

export interface Batch {
  /** The exact body sent; a retry resends the same bytes. */
  body: string;
  size: number;
  /** Every valid event of the batch is in this session. */
  session: string;
  /** The valid events sent (for later batches that repeat some of them). */
  events?: Record<string, unknown>[];
  /** Valid entries' ids, in order (an id may repeat inside a batch or come from an earlier batch). */
  validIds: string[];
  /** Indices of the deliberately invalid entries; each must come back in `rejected`. */
  invalid: number[];
}

export interface Visit {
  session: string;
  steps: number;
  lastRec?: { id: string; slot: string; items: string[] };
  seen: string[];
}

export interface Request {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

const SLOTS = ['home', 'product', 'cart'] as const;
// Beacon mix: mostly impressions and views, a tail of clicks, carts and purchases.
const TYPE_WEIGHTS: [EventType, number][] = [
  ['impression', 0.35],
  ['view', 0.4],
  ['click', 0.12],
  ['add_to_cart', 0.08],
  ['purchase', 0.05],
];
/** Mean of 1 + floor(100 u²): batches of 1..100 events, most of them small. */
export const MEAN_BATCH = 34;

export class Traffic {
  private n = 0;
  private sessions = 0;
  get sessionsStarted(): number {
    return this.sessions;
  }
  private bad = 0;
  private readonly returning: string[] = [];

  constructor(
    readonly run: string,
    private readonly items: string[],
    readonly rng: Rng,
  ) {}

  static forClient(run: string, items: string[], seed: number, client: number): Traffic {
    return new Traffic(run, items, seededRng(seed * 1009 + client));
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng() * xs.length)]!;
  }

  /** Popular items are picked far more often than the tail (u² skew). */
  private item(): string {
    return this.items[Math.floor(this.items.length * this.rng() ** 2)]!;
  }

  private type(): EventType {
    let u = this.rng();
    for (const [t, w] of TYPE_WEIGHTS) if ((u -= w) < 0) return t;
    return 'view';
  }

  /**
   * A new shopper (80%) or a returning one from this client's earlier sessions; 3 to 20 steps.
   * With `maxSessions`, only returning shoppers once this client has started that many.
   */
  visit(client: number, maxSessions = Infinity): Visit {
    let session: string;
    if (this.returning.length && (this.rng() < 0.2 || this.sessions >= maxSessions)) session = this.pick(this.returning);
    else {
      session = `${this.run}-c${client}-s${this.sessions++}`;
      this.returning.push(session);
      if (this.returning.length > 200) this.returning.shift();
    }
    return { session, steps: 3 + Math.floor(this.rng() * 18), seen: [] };
  }

  batchSize(): number {
    return 1 + Math.floor(100 * this.rng() ** 2);
  }

  private event(v: Visit, client: number): Record<string, unknown> {
    const type = this.type();
    const fromRec = v.lastRec && v.lastRec.items.length && (type === 'impression' || type === 'click');
    const item = fromRec ? this.pick(v.lastRec!.items) : type === 'view' || !v.seen.length ? this.item() : this.pick(v.seen);
    if (type === 'view') v.seen.push(item);
    return {
      event_id: `${this.run}-c${client}-e${this.n++}`,
      type,
      item_id: item,
      session_id: v.session,
      timestamp: Date.now() - Math.floor(this.rng() * 5000),
      ...(fromRec ? { recommendation_id: v.lastRec!.id, slot: v.lastRec!.slot } : {}),
      ...(type === 'purchase' ? { value: Math.round(500 + this.rng() * 20000) / 100 } : {}),
    };
  }

  /** Each kind breaks one rule; ids carry "-bad-" so the D1 check can prove none was stored. */
  private invalidEvent(v: Visit, client: number): unknown {
    const ok = { event_id: `${this.run}-c${client}-bad-${this.bad++}`, type: 'view', item_id: this.item(), session_id: v.session, timestamp: Date.now() };
    const { event_id: _, ...noId } = ok;
    return this.pick<unknown>([
      noId,
      { ...ok, type: 'hover' },
      { ...ok, timestamp: 'yesterday' },
      { ...ok, item_id: '' },
      { ...ok, type: 'purchase', value: -5 },
      { ...ok, timestamp: Date.now() + 3 * 86_400_000 },
      { ...ok, session_id: 'x'.repeat(200) },
      42,
      null,
    ]);
  }

  /**
   * `size` new events for the visit's session; 10% of batches carry 1-3 invalid events, 3% repeat
   * a few events already accepted in the same session (`earlier`; duplicates are per session), 2%
   * repeat an event inside the batch.
   */
  batch(v: Visit, client: number, size: number, earlier: (session: string) => Record<string, unknown>[]): { batch: Batch; types: Map<string, string> } {
    const entries: unknown[] = [];
    const types = new Map<string, string>();
    for (let i = 0; i < size; i++) {
      const e = this.event(v, client);
      types.set(e.event_id as string, e.type as string);
      entries.push(e);
    }
    if (this.rng() < 0.03) {
      // A duplicate is the same event sent again (a client's retry of part of a batch).
      for (const e of earlier(v.session)) entries.push(e);
    }
    if (this.rng() < 0.02) entries.push(entries[Math.floor(this.rng() * size)]);
    if (this.rng() < 0.1) {
      const k = 1 + Math.floor(this.rng() * 3);
      for (let i = 0; i < k; i++) entries.splice(Math.floor(this.rng() * (entries.length + 1)), 0, { __bad: this.invalidEvent(v, client) });
    }
    const invalid: number[] = [];
    const validIds: string[] = [];
    const body = entries.map((e, i) => {
      if (e && typeof e === 'object' && '__bad' in e) {
        invalid.push(i);
        return (e as { __bad: unknown }).__bad;
      }
      validIds.push((e as { event_id: string }).event_id);
      return e;
    });
    const events = body.filter((_, i) => !invalid.includes(i)) as Record<string, unknown>[];
    return { batch: { body: JSON.stringify({ events: body }), size: body.length, session: v.session, events, validIds, invalid }, types };
  }

  /** A recommendation request for the visit: GET for a slot (85%) or POST with a price filter. */
  rec(v: Visit): Request & { slot: string } {
    const slot = this.pick(SLOTS);
    const context = slot === 'product' && v.seen.length ? `&item_id=${encodeURIComponent(v.seen[v.seen.length - 1]!)}` : '';
    if (this.rng() < 0.85) return { method: 'GET', path: `/v1/recommendations?slot=${slot}&session_id=${encodeURIComponent(v.session)}&k=10${context}`, slot };
    return { method: 'POST', path: '/v1/recommendations', body: JSON.stringify({ slot, session_id: v.session, k: 8, price_max: 150 }), slot };
  }

  /** A request the API must refuse with a 4xx and a JSON error (whole batch or query invalid). */
  malformed(v: Visit): Request {
    const tooMany = JSON.stringify({ events: Array.from({ length: 501 }, (_, i) => ({ event_id: `${this.run}-bad-many-${this.bad}-${i}`, type: 'view', item_id: 'x', session_id: v.session, timestamp: Date.now() })) });
    this.bad++;
    return this.pick<Request>([
      { method: 'POST', path: '/v1/events', body: '{"events": [' },
      { method: 'POST', path: '/v1/events', body: '{"events": []}' },
      { method: 'POST', path: '/v1/events', body: '{"events": "none"}' },
      { method: 'POST', path: '/v1/events', body: tooMany },
      { method: 'GET', path: `/v1/recommendations?session_id=${encodeURIComponent(v.session)}` },
      { method: 'GET', path: `/v1/recommendations?slot=home&k=0` },
      { method: 'POST', path: '/v1/recommendations', body: '{"slot": "home", "price_min": 10, "price_max": 5}' },
    ]);
  }

  chance(p: number): boolean {
    return this.rng() < p;
  }
}

export interface BatchAnswer {
  accepted: number;
  /** Held in the event buffer while the queue refuses sends; stored later, exactly once. */
  buffered?: number;
  duplicates: number;
  rejected: { index: number }[];
}

/**
 * A batch the worker claims in its session object before answering (one session, at most this
 * many distinct valid events: worker/events/ingest.ts INLINE_MAX_EVENTS). Its answer counts
 * repeats of earlier ids as duplicates; a larger batch's `accepted` counts every distinct valid
 * event handed to the queue, and the consumer drops the repeats (docs/reliability.md).
 */
export const INLINE_MAX_EVENTS = 20;

/**
 * What the API told us it accepted; compared with the R2 event log at the end. Duplicates are
 * per session, and every event id the soak generates is unique, so a stored id maps to one
 * (session, id) pair: the log must hold each accepted id exactly once.
 */
export class Ledger {
  readonly accepted = new Set<string>();
  readonly types = new Map<string, string>();
  /** sum of `accepted` (or `buffered`) over all answers */
  acceptedSum = 0;
  /**
   * Answers that counted every distinct valid event as handed on (larger batches, or an inline
   * claim that missed its time budget), and the repeats of earlier ids among them: the consumer
   * drops those, so the log must hold acceptedSum - repeats events.
   */
  handedOn = { batches: 0, repeats: 0 };
  /**
   * Repeats of earlier ids that an inline answer counted as new because their first copy was
   * still in the queue (handed on by a larger batch, not yet claimed by the consumer): the session
   * object keeps whichever copy reaches it first, so the log holds the id once and the other
   * answer's count is one too many.
   */
  overtaken = 0;
  /** Events accepted per session, for batches that repeat them (bounded). */
  private readonly pool = new Map<string, Record<string, unknown>[]>();
  private pooled = 0;

  earlier(session: string, rng: () => number): Record<string, unknown>[] {
    const evs = this.pool.get(session);
    if (!evs?.length) return [];
    const k = 1 + Math.floor(rng() * 5);
    return Array.from({ length: k }, () => evs[Math.floor(rng() * evs.length)]!);
  }

  /**
   * Check one 200/202 answer against the batch and record its ids. `uncertain`: an earlier
   * attempt of the same body failed (5xx or network), so some of its events may already be stored.
   */
  settle(b: Batch, a: BatchAnswer, uncertain: boolean): string[] {
    const problems: string[] = [];
    const distinct = new Set(b.validIds);
    const fresh = new Set([...distinct].filter((id) => !this.accepted.has(id)));
    const inline = distinct.size <= INLINE_MAX_EVENTS;
    const rejected = a.rejected.map((r) => r.index).sort((x, y) => x - y);
    if (rejected.join(',') !== b.invalid.join(',')) problems.push(`rejected indices [${rejected}] but the invalid events were at [${b.invalid}]`);
    const taken = a.buffered ? a.buffered : a.accepted;
    const word = a.buffered ? 'buffered' : 'accepted';
    if (taken + a.duplicates + a.rejected.length !== b.size) problems.push(`${word} ${taken} + duplicates ${a.duplicates} + rejected ${a.rejected.length} != ${b.size} events sent`);
    if (a.buffered && a.accepted !== 0) problems.push(`a buffered answer says accepted ${a.accepted}`);
    if (taken === distinct.size) {
      if (distinct.size !== fresh.size) this.handedOn.batches++;
      this.handedOn.repeats += distinct.size - fresh.size;
    } else if (!inline) problems.push(`${word} ${taken}, expected the ${distinct.size} distinct valid events handed on`);
    else if (taken < (uncertain ? 0 : fresh.size) || taken > distinct.size) problems.push(`${word} ${taken}, expected ${fresh.size} new events (claimed inline) or ${distinct.size} (handed on)`);
    else this.overtaken += taken - fresh.size; // repeats whose first copy was still queued (see `overtaken`)
    this.acceptedSum += taken;
    const sent = b.events ? new Map(b.events.map((e) => [e.event_id as string, e])) : null;
    for (const id of fresh) {
      this.accepted.add(id);
      const e = sent?.get(id);
      if (e && this.pooled < 200_000) {
        const evs = this.pool.get(b.session) ?? [];
        this.pool.set(b.session, evs);
        evs.push(e);
        this.pooled++;
      }
    }
    return problems;
  }
}
