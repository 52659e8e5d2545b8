/**
 * One Durable Object per (session, shopper) (SQLite-backed; named in worker/session/client.ts):
 * a session's anonymous state and each signed-in shopper's state in it are separate objects. It
 * keeps the real-time features, bounded in size, and a cached copy of the shopper's long-term
 * profile. Profile changes are queued in an outbox and written to D1 in one batch on an
 * alarm, never once per event. Every object that stores anything has an alarm, so it is
 * deleted once idle for SESSION_RETENTION_DAYS.
 */
import { DurableObject } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { db, runBatch } from '../db/client';
import { profiles, type Profile } from '../db/schema';
import { linkStatement } from '../privacy/session-index';
import { parseSessionObjectName, sessionStub } from './client';
import { applyEvents, emptyProfile, EVENT_STRENGTH, LIMITS, topEntries, type ProfileData, type SessionEvent } from './profile';
import { retentionMs } from '../lib/vars';
import { log } from '../ops/log';

/** Touches (click / add-to-cart on a recommendation) kept for last-touch attribution. */
const TOUCHES = 50;

export interface SessionFeatures {
  /** Newest first. */
  recent: { itemId: string; type: string; ts: number }[];
  /** Session attribute weights ("category:x" -> weight). */
  attrs: Record<string, number>;
  cart: string[];
  /** Bought in this session or ever (from the profile). */
  purchased: string[];
  profile: ProfileData | null;
  lastActivity: number | null;
}

/** What a session object holds, as the access export shows it. */
export type SessionDump = {
  recent: { item_id: string; type: string; ts: number }[];
  attrs: Record<string, number>;
  cart: { item_id: string; added_at: number }[];
  purchased: { item_id: string; ts: number }[];
  /** last activity, the cached profile and whose it is */
  kv: Record<string, unknown>;
  /** profile changes not yet written to D1 */
  pending_profile_events: { user_key: string; event: SessionEvent }[];
  /** events from before the shopper logged in, waiting to join their profile */
  anonymous_events: SessionEvent[];
  alarm_at: number | null;
};

/** One queue message's events for this session (worker/events/message.ts). */
export interface ClaimBatch {
  claim: string;
  events: SessionEvent[];
}

/** What a claim holds: the event ids it stores in the log, and purchases' last-touch recommendations. */
export interface ClaimResult {
  stored: string[];
  /**
   * Purchases and the recommendation of this session's latest click / add-to-cart of the item: a
   * list, not an object keyed by event id, since ids are the caller's strings ("__proto__").
   */
  touches: { eventId: string; rec: string }[];
  /** purchase event ids of a shopper who had purchased before (the console's repeat-purchase rate) */
  repeat: string[];
}

export interface SessionErasure {
  rows: number;
  pending_profile_events: number;
  alarm_cleared: boolean;
}

/** A session before its first event. */
export function emptyFeatures(): SessionFeatures {
  return { recent: [], attrs: {}, cart: [], purchased: [], profile: null, lastActivity: null };
}

const PROFILE_TTL_MS = 10 * 60_000;
/** The dedupe window's expired ids are pruned at most this often (a full pass over `seen`). */
const SEEN_SWEEP_MS = 86_400_000;

/**
 * The session's features as one row (kv "state"): a claim reads it, applies any number of events
 * in memory and writes it back once, so a batch costs one row written plus one dedupe row per new
 * event (it was about 9.5 rows per event with a table row per recent item, attribute, anonymous
 * event and trim). Every list is bounded (LIMITS).
 */
interface SessionStore {
  /** newest first */
  recent: { itemId: string; type: string; ts: number }[];
  attrs: Record<string, number>;
  /** newest first */
  cart: { itemId: string; addedAt: number }[];
  /** newest first */
  purchased: { itemId: string; ts: number }[];
  /** anonymous events, oldest first, waiting to join a profile at login */
  anonymous: SessionEvent[];
  /** click / add-to-cart on a recommendation, oldest first, for last-touch attribution */
  touches: { itemId: string; rec: string; ts: number }[];
  lastActivity: number | null;
  touchedAt: number;
  /** when expired dedupe ids were last pruned */
  sweptAt: number;
}

const emptyStore = (): SessionStore => ({ recent: [], attrs: {}, cart: [], purchased: [], anonymous: [], touches: [], lastActivity: null, touchedAt: 0, sweptAt: 0 });

/** Outbox rows hold one event (older objects) or one batch's events. */
function outboxEvents(text: string): SessionEvent[] {
  const v = JSON.parse(text) as SessionEvent | SessionEvent[];
  return Array.isArray(v) ? v : [v];
}

/** The recommendation of this session's latest click / add-to-cart of the item at or before the event. */
function lastTouch(touches: SessionStore['touches'], ev: SessionEvent): string | null {
  let best: SessionStore['touches'][number] | null = null;
  for (const t of touches) if (t.itemId === ev.itemId && t.ts <= ev.ts && (!best || t.ts >= best.ts)) best = t;
  return best?.rec ?? null;
}

export class SessionState extends DurableObject<Env> {
  private sql: SqlStorage;

  /** Tables exist once this instance created them (lazily, so an erased object stays empty). */
  private ready = false;
  /** The profile flush in progress, which erasure waits for. */
  private flushing: Promise<number> | null = null;
  /** The state row as read or written during the current call (reset at each entry: storage is the truth). */
  private store: SessionStore | null = null;
  /** The alarm as last read or set (undefined: not read yet), so a claim does not ask storage each time. */
  private alarmAt: number | null | undefined = undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Reading a session that never received an event (most first page views, every bot) must
    // not create its storage: tables are created on the first write (schema()), not here.
    this.ready = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seen'").toArray().length > 0;
  }

  private schema(): void {
    if (this.ready) return;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_key TEXT NOT NULL, event TEXT NOT NULL);
    `);
    // Dedupe state (claim()): one row per event id, nothing else (no rowid, no second index).
    this.sql.exec('CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, claim TEXT NOT NULL, at INTEGER NOT NULL, rec TEXT) WITHOUT ROWID');
    this.sql.exec('DROP INDEX IF EXISTS seen_at');
    this.ready = true;
  }

  /** The features row; objects written by the per-table layout are converted once. */
  private state(): SessionStore {
    if (this.store) return this.store;
    this.store = this.kvGet<SessionStore>('state') ?? this.fromTables() ?? emptyStore();
    return this.store;
  }

  private saveState(s: SessionStore): void {
    this.store = s;
    this.kvPut('state', s);
  }

  /** The older layout (a table per feature): read into one state row and drop the tables. */
  private fromTables(): SessionStore | null {
    const tables = this.existingTables();
    if (!tables.has('recent')) return null;
    const q = <T>(t: string, query: string) => (tables.has(t) ? this.sql.exec<T & Record<string, SqlStorageValue>>(query).toArray() : []);
    const s: SessionStore = {
      recent: q<{ item_id: string; type: string; ts: number }>('recent', 'SELECT item_id, type, ts FROM recent ORDER BY seq DESC').map((r) => ({ itemId: r.item_id, type: r.type, ts: r.ts })),
      attrs: Object.fromEntries(q<{ attr: string; weight: number }>('attrs', 'SELECT attr, weight FROM attrs').map((r) => [r.attr, r.weight])),
      cart: q<{ item_id: string; added_at: number }>('cart', 'SELECT item_id, added_at FROM cart ORDER BY added_at DESC').map((r) => ({ itemId: r.item_id, addedAt: r.added_at })),
      purchased: q<{ item_id: string; ts: number }>('purchased', 'SELECT item_id, ts FROM purchased ORDER BY ts DESC').map((r) => ({ itemId: r.item_id, ts: r.ts })),
      anonymous: q<{ event: string }>('anonymous', 'SELECT event FROM anonymous ORDER BY seq').map((r) => JSON.parse(r.event) as SessionEvent),
      touches: q<{ item_id: string; rec: string; ts: number }>('touches', 'SELECT item_id, rec, ts FROM touches ORDER BY seq').map((r) => ({ itemId: r.item_id, rec: r.rec, ts: r.ts })),
      lastActivity: this.kvGet<number>('last_activity'),
      touchedAt: this.kvGet<number>('touched_at') ?? Date.now(),
      sweptAt: 0,
    };
    for (const t of ['recent', 'attrs', 'cart', 'purchased', 'anonymous', 'touches']) if (tables.has(t)) this.sql.exec(`DROP TABLE ${t}`);
    this.sql.exec("DELETE FROM kv WHERE key IN ('last_activity', 'touched_at')");
    this.saveState(s);
    return s;
  }

  /**
   * Login: the anonymous history of `fromSessionKey` (its own object) joins this signed-in
   * object's features and the user's profile (through the outbox). Callers decide who may merge
   * what: the proxy at login, from the browser's previous anonymous session (worker/session/
   * merge.ts), and mergeOwnAnonymous below, once, from this object's own session id.
   */
  async mergeAnonymous(userKey: string, fromSessionKey: string): Promise<number> {
    this.schema();
    const events = await sessionStub(this.env, fromSessionKey, null).takeAnonymous();
    if (!events.length) return 0;
    this.store = null; // storage is the truth after an await
    this.apply(events, userKey);
    // A cached profile no longer includes everything: read it again (with the outbox) next time.
    this.sql.exec("DELETE FROM kv WHERE key IN ('profile', 'profile_at')");
    await this.scheduleFlush();
    return events.length;
  }

  /**
   * The first signed-in use of this (session, user) object takes the same session's anonymous
   * history. Only a storefront backend (server key) can use one session id both anonymously and
   * signed in: a public caller's session is issued to one identity (worker/identity/session-id.ts).
   */
  private async mergeOwnAnonymous(userKey: string): Promise<void> {
    if (this.kvGet<boolean>('anonymous_merged')) return;
    this.kvPut('anonymous_merged', true);
    const { sessionKey, userKey: owner } = parseSessionObjectName(this.ctx.id.name ?? '');
    if (sessionKey && owner === userKey) await this.mergeAnonymous(userKey, sessionKey);
  }

  /** An anonymous object hands its history over at login, once (it is removed here). */
  async takeAnonymous(): Promise<SessionEvent[]> {
    if (!this.ready) return [];
    this.store = null;
    const s = this.state();
    if (!s.anonymous.length) return [];
    this.saveState({ ...s, anonymous: [] });
    return s.anonymous;
  }

  private async alarm_(): Promise<number | null> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    return this.alarmAt;
  }

  private async setAlarmAt(at: number): Promise<void> {
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** One alarm serves both jobs: the profile flush, and deleting the session once it is idle. */
  private async scheduleFlush(): Promise<void> {
    const at = Date.now() + Number(this.env.PROFILE_FLUSH_MS ?? 30_000);
    const current = await this.alarm_();
    if (current === null || current > at) await this.setAlarmAt(at);
  }

  /** After the last flush: forget the session when idle for SESSION_RETENTION_DAYS, else check again then. */
  private async expireOrWait(): Promise<void> {
    const pending = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
    if (pending) return this.scheduleFlush();
    const touched = this.state().touchedAt;
    const expiresAt = touched + retentionMs(this.env.SESSION_RETENTION_DAYS, 30);
    if (Date.now() >= expiresAt) {
      await this.ctx.storage.deleteAll();
      this.forget();
    } else await this.setAlarmAt(expiresAt);
  }

  /** After deleteAll(): nothing cached survives. */
  private forget(): void {
    this.ready = false;
    this.store = null;
    this.alarmAt = null;
  }

  private kvGet<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM kv WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private kvPut(key: string, value: unknown): void {
    this.sql.exec('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, JSON.stringify(value));
  }

  /**
   * Exactly-once per event_id in this session (docs/reliability.md): the first claim (queue
   * message) to present an event_id owns it for EVENT_DEDUPE_DAYS. Presenting the same claim
   * again (a redelivery, or the consumer after the inline call) returns the same ids and changes
   * nothing; another claim with the same id (a retried request) gets nothing. Events new here
   * are applied to the session's features in one pass and the state row is written once. All
   * SQL runs before the first await, so it commits as one transaction and a features() call
   * that arrives after this one sees the events.
   */
  async claim(batches: ClaimBatch[], userKey: string | null): Promise<Record<string, ClaimResult>> {
    this.schema();
    // A signed-in object's first use takes its session's anonymous history (a call to another
    // object) first, so that no await falls between this call's dedupe rows and its state row.
    if (userKey) await this.mergeOwnAnonymous(userKey);
    this.store = null;
    const now = Date.now();
    let s = this.state();
    if (now - s.sweptAt >= SEEN_SWEEP_MS) {
      this.sql.exec('DELETE FROM seen WHERE at < ?', now - retentionMs(this.env.EVENT_DEDUPE_DAYS, 7));
      s = { ...s, sweptAt: now };
    }
    const fresh: SessionEvent[] = [];
    const touches = [...s.touches];
    const out: Record<string, ClaimResult> = {};
    // Two statements for the whole call, not two per event: every id's prior claim, then the new rows.
    const ids = [...new Set(batches.flatMap((b) => b.events.map((e) => e.eventId)))];
    const seen = new Map(
      this.sql
        .exec<{ event_id: string; claim: string; rec: string | null }>('SELECT event_id, claim, rec FROM seen WHERE event_id IN (SELECT value FROM json_each(?))', JSON.stringify(ids))
        .toArray()
        .map((r) => [r.event_id, { claim: r.claim, rec: r.rec }]),
    );
    const added: [string, string, string | null][] = [];
    // The earliest purchase known before these events: a purchase after it is a repeat purchase.
    let firstPurchase = this.earliestPurchase(s, userKey);
    for (const b of batches) {
      const r: ClaimResult = (out[b.claim] ??= { stored: [], touches: [], repeat: [] });
      for (const ev of [...b.events].sort((x, y) => x.ts - y.ts)) {
        const prior = seen.get(ev.eventId);
        if (ev.type === 'purchase' && (!prior || (prior.claim === b.claim && !r.stored.includes(ev.eventId))) && firstPurchase < ev.ts) r.repeat.push(ev.eventId);
        if (prior) {
          if (prior.claim !== b.claim || r.stored.includes(ev.eventId)) continue;
          r.stored.push(ev.eventId);
          if (prior.rec) r.touches.push({ eventId: ev.eventId, rec: prior.rec });
          continue;
        }
        if (ev.type === 'purchase') firstPurchase = Math.min(firstPurchase, ev.ts);
        const rec = ev.type === 'purchase' && !ev.recommendationId ? lastTouch(touches, ev) : null;
        seen.set(ev.eventId, { claim: b.claim, rec });
        added.push([ev.eventId, b.claim, rec]);
        if (ev.recommendationId && (ev.type === 'click' || ev.type === 'add_to_cart')) {
          touches.push({ itemId: ev.itemId, rec: ev.recommendationId, ts: ev.ts });
          if (touches.length > TOUCHES) touches.shift();
        }
        r.stored.push(ev.eventId);
        if (rec) r.touches.push({ eventId: ev.eventId, rec });
        fresh.push(ev);
      }
    }
    if (added.length) {
      this.sql.exec(
        "INSERT INTO seen (event_id, claim, at, rec) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?, json_extract(value, '$[2]') FROM json_each(?)",
        now,
        JSON.stringify(added),
      );
    }
    s = { ...s, touches };
    if (!fresh.length) {
      if (s.sweptAt !== this.state().sweptAt) this.saveState(s);
      return out;
    }
    this.store = s;
    this.apply(fresh, userKey);
    if (userKey) await this.scheduleFlush();
    else if ((await this.alarm_()) === null) await this.setAlarmAt(Date.now() + retentionMs(this.env.SESSION_RETENTION_DAYS, 30));
    return out;
  }

  /**
   * Forget which ids these claims took (POST /v1/events when neither the queue nor the buffer
   * accepted the events of an inline claim): their resend is then new here. The features already
   * applied stay (a resend applies them again; they are bounded weights, not the log).
   */
  async release(claims: string[]): Promise<number> {
    if (!this.ready) return 0;
    let n = 0;
    for (const c of claims) n += this.sql.exec('DELETE FROM seen WHERE claim = ?', c).rowsWritten;
    return n;
  }

  /**
   * When the shopper first bought, as far as this object knows: its purchases (the session's, or
   * a signed-in shopper's across sessions) and the cached profile's last purchase. A redelivered
   * claim sees its own events applied already; they do not count (same timestamp, not earlier).
   */
  private earliestPurchase(s: SessionStore, userKey: string | null): number {
    let first = Infinity;
    for (const p of s.purchased) first = Math.min(first, p.ts);
    const profile = userKey && this.kvGet<string>('user_key') === userKey ? this.kvGet<ProfileData>('profile') : null;
    if (profile?.lastPurchaseAt) first = Math.min(first, profile.lastPurchaseAt);
    return first;
  }

  /** Apply new (already de-duplicated) events, oldest first, to the state row and the outbox. */
  private apply(events: SessionEvent[], userKey: string | null): void {
    const sorted = [...events].sort((a, b) => a.ts - b.ts);
    const s = this.state();
    const recent = [...s.recent];
    const attrs = { ...s.attrs };
    let cart = [...s.cart];
    let purchased = [...s.purchased];
    const anonymous = [...s.anonymous];
    const toProfile: SessionEvent[] = [];
    let last = s.lastActivity ?? 0;
    for (const ev of sorted) {
      const w = EVENT_STRENGTH[ev.type];
      if (w === 0) continue; // impressions carry no preference
      recent.unshift({ itemId: ev.itemId, type: ev.type, ts: ev.ts });
      for (const a of ev.attrs) attrs[a] = (attrs[a] ?? 0) + w;
      if (ev.type === 'add_to_cart') cart = [{ itemId: ev.itemId, addedAt: ev.ts }, ...cart.filter((c) => c.itemId !== ev.itemId)];
      if (ev.type === 'purchase') {
        purchased = [{ itemId: ev.itemId, ts: ev.ts }, ...purchased.filter((p) => p.itemId !== ev.itemId)];
        cart = cart.filter((c) => c.itemId !== ev.itemId);
      }
      (userKey ? toProfile : anonymous).push(ev);
      last = Math.max(last, ev.ts);
    }
    // One outbox row per batch (the profile flush folds them in order).
    if (userKey && toProfile.length) this.sql.exec('INSERT INTO outbox (user_key, event) VALUES (?, ?)', userKey, JSON.stringify(toProfile));
    this.saveState({
      ...s,
      recent: recent.slice(0, LIMITS.recent),
      attrs: topEntries(attrs, LIMITS.attrs),
      cart: cart.sort((a, b) => b.addedAt - a.addedAt).slice(0, LIMITS.recent),
      purchased: purchased.sort((a, b) => b.ts - a.ts).slice(0, LIMITS.purchases),
      anonymous: anonymous.slice(-LIMITS.recent),
      lastActivity: last,
      touchedAt: Date.now(),
    });
    if (userKey) {
      const cached = this.kvGet<ProfileData>('profile');
      if (cached && this.kvGet<string>('user_key') === userKey) this.kvPut('profile', applyEvents(cached, sorted));
    }
  }

  async features(userKey: string | null): Promise<SessionFeatures> {
    this.store = null;
    if (!this.ready && !userKey) return emptyFeatures();
    this.schema(); // a signed-in shopper's profile is cached here
    if (userKey) await this.mergeOwnAnonymous(userKey);
    const s = this.state();
    const bought = s.purchased.map((p) => p.itemId);
    const profile = userKey ? await this.profile(userKey) : null;
    return {
      recent: s.recent.map((r) => ({ ...r })),
      attrs: { ...s.attrs },
      cart: s.cart.map((c) => c.itemId),
      purchased: profile ? [...new Set([...bought, ...profile.purchases])] : bought,
      profile,
      lastActivity: s.lastActivity,
    };
  }

  /** The shopper's long-term profile: cached here, read from D1 when missing or old. */
  private async profile(userKey: string): Promise<ProfileData> {
    const cachedAt = this.kvGet<number>('profile_at') ?? 0;
    if (this.kvGet<string>('user_key') === userKey && Date.now() - cachedAt < PROFILE_TTL_MS) {
      const cached = this.kvGet<ProfileData>('profile');
      if (cached) return cached;
    }
    const d = db(this.env.DB);
    // This session now holds the user's profile: the user → session index must know (erasure finds it there).
    const { sessionKey } = parseSessionObjectName(this.ctx.id.name ?? '');
    const link = sessionKey ? [linkStatement(d, [{ userKey, sessionKey, firstSeen: Date.now() }])] : [];
    const [rows] = (await runBatch(d, [d.select().from(profiles).where(eq(profiles.userKey, userKey)).limit(1), ...link])) as [Profile[]];
    let p: ProfileData = rows[0] ?? emptyProfile(Date.now());
    // Events still waiting in the outbox are part of what we know.
    const pending = this.pendingFor(userKey);
    if (pending.length) p = applyEvents(p, pending);
    this.kvPut('user_key', userKey);
    this.kvPut('profile', p);
    this.kvPut('profile_at', Date.now());
    // A cached profile is state too: it expires with the object when idle (alarm), like events.
    this.saveState({ ...this.state(), touchedAt: Date.now() });
    if ((await this.alarm_()) === null) await this.setAlarmAt(Date.now() + retentionMs(this.env.SESSION_RETENTION_DAYS, 30));
    return p;
  }

  private pendingFor(userKey: string): SessionEvent[] {
    return this.sql
      .exec<{ event: string }>('SELECT event FROM outbox WHERE user_key = ? ORDER BY seq', userKey)
      .toArray()
      .flatMap((r) => outboxEvents(r.event));
  }

  /** Write queued profile changes to D1 in one batch. Rows leave the outbox only after D1 accepted them. */
  async flush(): Promise<number> {
    this.schema();
    const run = this.flushOutbox();
    this.flushing = run;
    try {
      return await run;
    } finally {
      if (this.flushing === run) this.flushing = null;
    }
  }

  private async flushOutbox(): Promise<number> {
    const maxSeq = this.sql.exec<{ m: number | null }>('SELECT MAX(seq) AS m FROM outbox').one().m;
    if (maxSeq === null) return 0;
    const users = this.sql.exec<{ user_key: string }>('SELECT DISTINCT user_key FROM outbox WHERE seq <= ?', maxSeq).toArray();
    const d = db(this.env.DB);
    const now = Date.now();
    const writes = [];
    for (const { user_key } of users) {
      const evs = this.sql
        .exec<{ event: string }>('SELECT event FROM outbox WHERE user_key = ? AND seq <= ? ORDER BY seq', user_key, maxSeq)
        .toArray()
        .flatMap((r) => outboxEvents(r.event));
      const row = await d.select().from(profiles).where(eq(profiles.userKey, user_key)).get();
      const next = applyEvents(row ?? emptyProfile(evs[0]?.ts ?? now), evs);
      writes.push(
        d
          .insert(profiles)
          .values({ userKey: user_key, ...next, updatedAt: now })
          .onConflictDoUpdate({ target: profiles.userKey, set: { ...next, updatedAt: now } }),
      );
    }
    await runBatch(d, writes);
    this.sql.exec('DELETE FROM outbox WHERE seq <= ?', maxSeq);
    return users.length;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null; // this alarm has fired
    this.store = null;
    try {
      await this.flush();
    } catch (e) {
      // D1 unavailable: keep the outbox and try again later; nothing is dropped.
      log('error', 'profile_flush_failed', { error: (e as Error).message });
      await this.setAlarmAt(Date.now() + 60_000);
      return;
    }
    await this.expireOrWait();
  }

  // ---- shopper rights (worker/privacy/) ----

  /** Right of access: everything this object holds, read-only (null when it holds nothing). */
  async dump(): Promise<SessionDump | null> {
    this.store = null;
    const tables = this.existingTables();
    const rows = <T>(table: string, q: string) => (tables.has(table) ? this.sql.exec<T & Record<string, SqlStorageValue>>(q).toArray() : []);
    const s = tables.has('kv') || tables.has('recent') ? this.state() : emptyStore();
    const kv = Object.fromEntries(rows<{ key: string; value: string }>('kv', "SELECT key, value FROM kv WHERE key <> 'state'").map((r) => [r.key, JSON.parse(r.value) as unknown]));
    if (s.lastActivity !== null) kv.last_activity = s.lastActivity;
    if (s.touchedAt) kv.touched_at = s.touchedAt;
    const dump: SessionDump = {
      recent: s.recent.map((r) => ({ item_id: r.itemId, type: r.type, ts: r.ts })),
      attrs: { ...s.attrs },
      cart: s.cart.map((c) => ({ item_id: c.itemId, added_at: c.addedAt })),
      purchased: s.purchased.map((p) => ({ item_id: p.itemId, ts: p.ts })),
      kv,
      pending_profile_events: rows<{ user_key: string; event: string }>('outbox', 'SELECT user_key, event FROM outbox ORDER BY seq').flatMap((r) =>
        outboxEvents(r.event).map((event) => ({ user_key: r.user_key, event })),
      ),
      anonymous_events: [...s.anonymous],
      alarm_at: await this.ctx.storage.getAlarm(),
    };
    const empty = !dump.recent.length && !Object.keys(dump.attrs).length && !dump.cart.length && !dump.purchased.length && !Object.keys(dump.kv).length && !dump.pending_profile_events.length && !dump.anonymous_events.length;
    return empty && dump.alarm_at === null ? null : dump;
  }

  /**
   * Right to erasure: wait for a profile flush in progress, then delete every row and table and
   * the pending alarm, so no queued profile change can re-create the profile afterwards.
   */
  async erase(): Promise<SessionErasure> {
    await this.flushing?.catch(() => 0);
    const tables = this.existingTables();
    let rows = 0;
    let pending = 0;
    for (const t of tables) rows += this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n;
    if (tables.has('outbox')) for (const r of this.sql.exec<{ event: string }>('SELECT event FROM outbox').toArray()) pending += outboxEvents(r.event).length;
    const alarm = await this.ctx.storage.getAlarm();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.forget();
    return { rows, pending_profile_events: pending, alarm_cleared: alarm !== null };
  }

  private existingTables(): Set<string> {
    const ours = ['recent', 'attrs', 'cart', 'purchased', 'kv', 'outbox', 'anonymous', 'seen', 'touches'];
    const found = this.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`).toArray();
    return new Set(found.map((r) => r.name).filter((n) => ours.includes(n)));
  }
}
